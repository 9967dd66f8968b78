import {
  isLiveRecord,
  type SessionPatch,
  type SessionRecord,
  type UserSessionEntry,
} from '../session-record.js';
import {
  MAX_FORWARD_HOPS,
  type CappedSession,
  type RedeemOutcome,
  type RedeemRequest,
  type RotateOptions,
  type RotateOutcome,
} from '../session-store.interface.js';
import { runScript, type RedisDriver } from './redis-driver.js';
import { INDEX_BATCH, REVOKE } from './redis.scripts.js';
import { DATA_FIELD_PREFIX, decodeRecord } from './session-hash.js';

/**
 * Bounds one call by the store's `operationTimeoutMs` and wraps its errors
 * (RedisStore's `run`). A topology decides what one call is: standalone
 * bounds each batch of a listing on its own, Cluster the whole walk.
 */
export type Bounded = <T>(work: () => Promise<T>) => Promise<T>;

/** A rotation that moves a live session: `expectHandle` is given. */
export type ConditionalRotate = RotateOptions & { expectHandle: string };

/**
 * The store operations whose Redis commands differ by topology. RedisStore
 * picks one implementation in its constructor (standalone.operations.ts or
 * cluster.operations.ts) and bounds every call; `get` and
 * `incrementCounter` send the same command on both, so the store runs them
 * itself.
 */
export interface RedisTopologyOperations {
  /**
   * set, and a log-in's rotate (`oldKey`: the session it replaces, deleted);
   * answers the user's sessions the per-user cap revoked.
   */
  put(
    key: string,
    oldKey: string | undefined,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<CappedSession[]>;
  update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean>;
  rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: ConditionalRotate,
  ): Promise<RotateOutcome>;
  destroy(key: string): Promise<void>;
  revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean>;
  listForUser(userId: string, bounded: Bounded): Promise<UserSessionEntry[]>;
  revokeAllForUser(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey: string | undefined,
    bounded: Bounded,
  ): Promise<number>;
  /** redeemRefreshToken: one REDEEM script on the family's key (see redis.scripts.ts). */
  redeem(key: string, request: RedeemRequest): Promise<RedeemOutcome>;
  /** claimExpired, in batches (see {@link claimInBatches}), each bounded on its own. */
  claimExpired(before: number, limit: number, bounded: Bounded): Promise<UserSessionEntry[]>;
}

/** What both topologies are built from. */
export interface RedisTopologySettings {
  readonly driver: RedisDriver;
  /** The store's key prefix: sessions are `<prefix><key>`, indexes `<prefix>user:<userId>`. */
  readonly prefix: string;
  readonly maxSessionsPerUser: number;
}

/**
 * How long a user index outlives the sessions it lists (each session records
 * this horizon and extends it when its own TTL would pass it), so that a
 * sliding session never outlives its index entry and an index extension is
 * rarely needed (once per day of activity).
 */
const INDEX_GRACE_MS = 24 * 3_600_000;

/** One HGETALL; anything but a hash this store wrote reads as no session. */
export async function readSession(driver: RedisDriver, k: string): Promise<SessionRecord | null> {
  try {
    return decodeRecord(await driver.send(['HGETALL', k], k));
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null;
    throw error;
  }
}

/** The fields `peek` reads: every record field but data, the index horizon and the token history. */
const PEEK_FIELDS = ['h', 'c', 'l', 'a', 'u', 'r', 'x', 'm', 'g', 'tc', 'tn', 'tp', 'tr', 'ts'];

/** One HMGET of the fixed fields: a record without data, whatever the hash holds besides. */
export async function peekSession(driver: RedisDriver, k: string): Promise<SessionRecord | null> {
  let reply: unknown;
  try {
    reply = await driver.send(['HMGET', k, ...PEEK_FIELDS], k);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null;
    throw error;
  }
  if (!Array.isArray(reply)) return null;
  const fields: unknown[] = [];
  reply.forEach((value, i) => {
    if (value !== null && value !== undefined) fields.push(PEEK_FIELDS[i], value);
  });
  return decodeRecord(fields);
}

/** The expiry index: one sorted set, member = session key, score = when its TTL ends (ms). */
export function expiryIndexKey(prefix: string): string {
  return `${prefix}expiry`;
}

/**
 * The expiry index score of a write that sets `ttlMs` now: the module's
 * clock plus the TTL (Redis drops the key that long after the write, whatever
 * its own clock says).
 */
export function expiresAt(ttlMs: number): string {
  return String(Date.now() + toTtl(ttlMs));
}

/** {@link expiresAt} of a whole record written; '' (out of the index) for a tombstone or a forward. */
export function recordExpiresAt(record: SessionRecord, ttlMs: number): string {
  return isLiveRecord(record) ? expiresAt(ttlMs) : '';
}

/** Batches past those `limit` needs that one claimExpired call may read (dead members take room). */
const EXTRA_CLAIM_BATCHES = 4;

/**
 * claimExpired's loop: `claim(count)` claims one batch of at most `count`
 * (≤ INDEX_BATCH) members, bounded on its own, and answers the live, due
 * records among them and whether the batch was full (more may be due). Dead
 * members found take a batch's room, so the number of batches is capped: one
 * call stays short, the next carries on. A batch failing after others
 * claimed records answers those (claimed, they would otherwise never be
 * reported); the failure shows on the next call.
 */
export async function claimInBatches(
  limit: number,
  bounded: Bounded,
  claim: (count: number) => Promise<{ entries: UserSessionEntry[]; full: boolean }>,
): Promise<UserSessionEntry[]> {
  const claimed: UserSessionEntry[] = [];
  let batches = Math.ceil(limit / INDEX_BATCH) + EXTRA_CLAIM_BATCHES;
  for (let full = true; full && claimed.length < limit && batches-- > 0;) {
    let batch: { entries: UserSessionEntry[]; full: boolean };
    try {
      batch = await bounded(() => claim(Math.min(INDEX_BATCH, limit - claimed.length)));
    } catch (error) {
      if (claimed.length > 0) break;
      throw error;
    }
    claimed.push(...batch.entries);
    full = batch.full;
  }
  return claimed;
}

/** UPDATE's ARGV from its seventh on: lastSeenAt, n, n field/value values, fields to delete. */
export function patchArgs(patch: SessionPatch): string[] {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(patch.set ?? {}))
    pairs.push(DATA_FIELD_PREFIX + name, value);
  const unset = (patch.unset ?? []).map((name) => DATA_FIELD_PREFIX + name);
  const lastSeenAt = patch.lastSeenAt === undefined ? '' : String(patch.lastSeenAt);
  return [lastSeenAt, String(pairs.length), ...pairs, ...unset];
}

/** ROTATE's and MOVE's forward arguments: expected handle, forward ms, readable until. */
export function forwardArgs(options: ConditionalRotate): string[] {
  return [
    options.expectHandle,
    String(Math.max(0, Math.ceil(options.forwardMs))),
    options.readableUntil === undefined ? '' : String(options.readableUntil),
  ];
}

/** The user a record is indexed under ('' for none: anonymous, a tombstone or a forward). */
export function indexedUser(record: SessionRecord): string {
  return record.userId !== undefined && isLiveRecord(record) ? record.userId : '';
}

/** A ROTATE or MOVE reply: { 1, _ } rotated, { 2, member } moved, { 0, _ } gone. */
export function rotateOutcome(reply: unknown): RotateOutcome {
  if (!Array.isArray(reply)) throw new Error('unexpected reply to rotate');
  if (reply[0] === 1) return { status: 'rotated' };
  const to = asString(reply[1]);
  if (reply[0] === 2 && to) return { status: 'moved', to };
  return { status: 'gone' };
}

/** REDEEM's ARGV from its fourth on: the request, then the tombstone TTL and the index keep. */
export function redeemArgs(request: RedeemRequest): string[] {
  return [
    request.presented,
    request.successor,
    request.sealedSuccessor ?? '',
    String(request.now),
    String(request.idleMs),
    String(request.absoluteMs),
    String(request.graceMs),
    String(toTtl(request.revokedTtlMs)),
    // A rotation's TTL is at most the idle lifetime (plus the retention): an
    // index kept for that (plus its grace) outlives the family.
    String(keepFor(Math.min(request.idleMs, request.absoluteMs) + retainOf(request))),
    String(retainOf(request)),
  ];
}

function retainOf(request: RedeemRequest): number {
  return Math.max(0, Math.ceil(request.retainMs ?? 0));
}

/**
 * The TTL REDEEM gives a family it rotated (its remaining lifetime from
 * `now`, plus `retainMs`), as the script computes it, so that a Cluster
 * caller indexes the end the script set.
 */
export function rotatedTtl(createdAt: number, request: RedeemRequest): number {
  const { now, idleMs, absoluteMs } = request;
  const remaining = Math.min(createdAt + absoluteMs, now + idleMs) - now;
  return Math.max(1, Math.ceil(remaining)) + retainOf(request);
}

/** A REDEEM reply, and what it leaves to a Cluster caller (see REDEEM). */
export interface RedeemReply {
  outcome: RedeemOutcome;
  /** The family's user, when its index entry must go (reused) or be extended (`extendTtl`). */
  user: string;
  /** Cluster: rotated with the TTL capped at the index horizon; extend the index for this TTL. */
  extendTtl?: number;
}

/**
 * Reads a REDEEM reply: { 0 } unknown, { 4 } revoked, { 5 } expired, else a
 * record (the HGETALL fields) with { 1 } rotated, { 2, sealed } replayed,
 * { 3, user } reused, { 6, user, ttl } rotated with the index to extend.
 */
export function redeemReply(reply: unknown): RedeemReply {
  const [code, fields, extra, ttl] = Array.isArray(reply) ? reply : [];
  if (code === 0) return { outcome: { status: 'unknown' }, user: '' };
  if (code === 4) return { outcome: { status: 'revoked' }, user: '' };
  if (code === 5) return { outcome: { status: 'expired' }, user: '' };
  const record = decodeRecord(fields);
  const text = asString(extra);
  if (record?.refresh) {
    if (code === 1) return { outcome: { status: 'rotated', record }, user: '' };
    if (code === 2 && text) {
      return { outcome: { status: 'replayed', record, sealedSuccessor: text }, user: '' };
    }
    if (code === 3 && text !== null) return { outcome: { status: 'reused', record }, user: text };
    if (code === 6 && text && typeof ttl === 'number') {
      return { outcome: { status: 'rotated', record }, user: text, extendTtl: ttl };
    }
  }
  throw new Error('unexpected reply to redeemRefreshToken');
}

export function toTtl(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

export function keepFor(ttlMs: number): number {
  return toTtl(ttlMs) + INDEX_GRACE_MS;
}

export function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

/**
 * Revokes the session under `key` or, on a forward, the one it leads to
 * (`inline`: the script also unindexes it, standalone only). Answers the key
 * and user of the session revoked, or null (none was live).
 */
export async function revokeFollowing(
  { driver, prefix }: RedisTopologySettings,
  inline: string,
  key: string,
  revokedAt: string,
  ttl: string,
  onlyUser: string,
): Promise<{ key: string; user: string } | null> {
  let target = key;
  for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
    const reply = await runScript(
      driver,
      REVOKE,
      [prefix + target],
      [inline, prefix, target, revokedAt, ttl, onlyUser],
    );
    if (!Array.isArray(reply)) throw new Error('unexpected reply to revoke');
    const info = asString(reply[1]) ?? '';
    if (reply[0] !== 2) return reply[0] === 1 ? { key: target, user: info } : null;
    target = info;
  }
  return null;
}

/**
 * The sessions PUT_CAPPED revoked, from its reply: after the two users, a
 * handle, a createdAt and a kind per session (see the PUT script).
 */
export function cappedOf(reply: unknown): CappedSession[] {
  if (!Array.isArray(reply)) return [];
  const capped: CappedSession[] = [];
  for (let i = 2; i + 2 < reply.length; i += 3) {
    const handle = asString(reply[i]);
    const createdAt = Number(asString(reply[i + 1]));
    const kind = asString(reply[i + 2]) === 'token' ? 'token' : 'cookie';
    if (handle && Number.isFinite(createdAt)) capped.push({ handle, createdAt, kind });
  }
  return capped;
}
