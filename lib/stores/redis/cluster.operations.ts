import type { SessionPatch, SessionRecord, UserSessionEntry } from '../session-record.js';
import {
  MAX_FORWARD_HOPS,
  type CappedSession,
  type RedeemOutcome,
  type RedeemRequest,
  type RotateOutcome,
} from '../session-store.interface.js';
import { ClusterExpiryIndex, ClusterUserIndex, INLINE } from './cluster-index.js';
import { runScript } from './redis-driver.js';
import {
  asString,
  claimInBatches,
  expiresAt,
  forwardArgs,
  indexedUser,
  keepFor,
  patchArgs,
  recordExpiresAt,
  redeemArgs,
  redeemReply,
  revokeFollowing,
  rotateOutcome,
  rotatedTtl,
  toTtl,
  type Bounded,
  type ConditionalRotate,
  type RedisTopologyOperations,
  type RedisTopologySettings,
} from './redis-topology.js';
import { DESTROY, ENFORCE_SLACK, EXTEND, MOVE, PUT, REDEEM, UPDATE } from './redis.scripts.js';
import { encodeRecord } from './session-hash.js';

/** The index node's clock and a session node's clock may differ by this much. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * The store on Cluster: a session and its user index live on different
 * slots, so set, rotate, destroy and revoke take a few ordered steps (each
 * method's "Cluster order:" says why its order is safe; the index steps are
 * in cluster-index.ts). `update` stays one round trip but when the index
 * must be extended first, rarely. The expiry index is on a slot of its own
 * too: its step goes alongside the session command it follows (concurrently,
 * no added latency), and losing one is harmless (see ClusterExpiryIndex).
 */
export class ClusterOperations implements RedisTopologyOperations {
  private readonly index: ClusterUserIndex;
  private readonly expiry: ClusterExpiryIndex;

  constructor(private readonly settings: RedisTopologySettings) {
    this.expiry = new ClusterExpiryIndex(settings);
    this.index = new ClusterUserIndex(settings, this.expiry);
  }

  /**
   * set and a log-in's rotate. Cluster order: (1) index the new key, so the
   * session is never live outside its index; (2) on rotate, delete the old
   * session, so a failure never leaves it readable; (3) write the session;
   * (4) drop stale index entries; (5) enforce maxSessionsPerUser. The
   * expiry index step goes alongside (2) and (3).
   */
  async put(
    key: string,
    oldKey: string | undefined,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<CappedSession[]> {
    const { indexed, capped } = await this.write(key, oldKey, record, ttlMs, true);
    await indexed;
    return capped;
  }

  /**
   * put's steps (`counts`: a new session, not a rotation, counts against
   * maxSessionsPerUser); answers once the session is written (with the
   * sessions the cap revoked), with the
   * expiry index step that went alongside the write still on its way (it
   * never rejects), so a rotation need not wait for it before its MOVE.
   */
  private async write(
    key: string,
    oldKey: string | undefined,
    record: SessionRecord,
    ttlMs: number,
    counts: boolean,
  ): Promise<{ indexed: Promise<void>; capped: CappedSession[] }> {
    const { driver, prefix, maxSessionsPerUser } = this.settings;
    const user = indexedUser(record);
    const limited = counts && maxSessionsPerUser !== Infinity;
    let horizon = '';
    let members = 0;
    if (user) {
      const [indexHorizon, count] = await this.index.add(user, key, ttlMs, false);
      horizon = String(indexHorizon - CLOCK_MARGIN_MS);
      members = count;
    }
    let oldUser: string | null = null;
    if (oldKey !== undefined) {
      const [reply] = await Promise.all([
        runScript(driver, DESTROY, [prefix + oldKey], [INLINE, prefix, oldKey]),
        this.expiry.remove([oldKey]),
      ]);
      oldUser = Array.isArray(reply) ? asString(reply[0]) : null;
    }
    const at = recordExpiresAt(record, ttlMs);
    const indexed = this.expiry.addNew(key, at);
    const reply = await runScript(
      driver,
      PUT,
      [prefix + key],
      [
        INLINE,
        prefix,
        key,
        oldKey ?? '',
        String(toTtl(ttlMs)),
        String(keepFor(ttlMs)),
        user,
        limited ? String(maxSessionsPerUser) : '0',
        horizon,
        at,
        ...encodeRecord(record),
      ],
    );
    const previous = Array.isArray(reply) ? asString(reply[0]) : null;
    if (oldUser && oldKey !== undefined) await this.index.remove(oldUser, [oldKey]);
    if (previous && previous !== user) await this.index.remove(previous, [key]);
    let capped: CappedSession[] = [];
    if (user && limited && members > maxSessionsPerUser) {
      // As enforce_max on standalone: only the oldest (excess + slack)
      // entries are read, dead ones pruned first, so a user at the cap costs
      // a few reads per log-in rather than one per session.
      let over = members - maxSessionsPerUser;
      const { live, dead } = await this.index.read(user, over + ENFORCE_SLACK);
      if (dead.length > 0) await this.index.prune(user, dead);
      over -= dead.length;
      const others = live.filter((entry) => entry.key !== key);
      const excess = others.slice(0, Math.max(0, over));
      const revokedAt = String(Date.now());
      const revoked = new Set(
        await this.index.revokeSessions(
          user,
          excess.map((entry) => entry.key),
          revokedAt,
          '',
        ),
      );
      capped = excess
        .filter((entry) => revoked.has(entry.key))
        .map(({ record: r }) => ({
          handle: r.handle,
          createdAt: r.createdAt,
          kind: r.refresh ? ('token' as const) : ('cookie' as const),
        }));
    }
    return { indexed, capped };
  }

  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    const { driver, prefix } = this.settings;
    const ttl = String(toTtl(ttlMs));
    const keep = String(keepFor(ttlMs));
    const at = expiresAt(ttlMs);
    const fields = patchArgs(patch);
    let target = key;
    // A forward passed on the way: the ZADD that went alongside put it in the index.
    let forward: string[] = [];
    for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
      const k = prefix + target;
      // The index ZADD goes with the UPDATE, before knowing that there is a
      // session: the usual case costs no extra round trip, and the rare
      // miss is taken back below (see ClusterExpiryIndex for a lost one).
      const [reply] = await Promise.all([
        runScript(driver, UPDATE, [k], [INLINE, prefix, target, ttl, keep, at, ...fields]),
        this.expiry.add(target, at),
        this.expiry.remove(forward),
      ]);
      if (reply === 0) {
        await this.expiry.remove([target]);
        return false;
      }
      if (reply === 1) return true;
      const [code, value] = Array.isArray(reply) ? [reply[0], asString(reply[1])] : [];
      if (value === null || value === undefined) throw new Error('unexpected reply to update');
      if (code === 3) {
        forward = [target];
        target = value;
        continue;
      }
      if (code !== 2) throw new Error('unexpected reply to update');
      // Cluster, rarely: the session's TTL would pass its index's horizon.
      // Extend the index first, then the session, so it never outlives it.
      const [horizon] = await this.index.add(value, target, ttlMs, true);
      await runScript(driver, EXTEND, [k], [value, ttl, String(horizon - CLOCK_MARGIN_MS)]);
      return true;
    }
    return false;
  }

  /**
   * Cluster order: (1) index the new key, (2) write the new session, (3)
   * MOVE the old key (the conditional step), (4) when MOVE did not answer
   * "rotated", delete the new session again; else unindex the old key. So a
   * forward always leads to a session that exists, and a destroy or revoke
   * of the old key that comes first makes step 3 fail.
   */
  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: ConditionalRotate,
  ): Promise<RotateOutcome> {
    const { driver, prefix } = this.settings;
    const user = indexedUser(record);
    // MOVE does not wait for the new key's expiry index step: the time from
    // writing the new session to moving the old one stays one round trip.
    const { indexed } = await this.write(newKey, undefined, record, ttlMs, false);
    const reply = await runScript(
      driver,
      MOVE,
      [prefix + oldKey],
      [...forwardArgs(options), newKey],
    );
    const outcome = rotateOutcome(reply);
    if (outcome.status !== 'rotated') {
      // (after the add has landed, so that it cannot put the entry back)
      await Promise.all([
        runScript(driver, DESTROY, [prefix + newKey], [INLINE, prefix, newKey]),
        indexed.then(() => this.expiry.remove([newKey])),
      ]);
      if (user) await this.index.remove(user, [newKey]);
    } else {
      // the old key is a forward now (or deleted): no session to report expired
      const oldUser = Array.isArray(reply) ? asString(reply[1]) : null;
      await Promise.all([
        oldUser ? this.index.remove(oldUser, [oldKey]) : undefined,
        this.expiry.remove([oldKey]),
        indexed,
      ]);
    }
    return outcome;
  }

  /**
   * Cluster order per key: delete the session, then remove its index entry,
   * so a failure in between leaves only a dangling index entry (pruned
   * later).
   */
  async destroy(key: string): Promise<void> {
    const { driver, prefix } = this.settings;
    let target: string | null = key;
    for (let hops = 0; target && hops <= MAX_FORWARD_HOPS; hops++) {
      const member: string = target;
      // the key is deleted whatever DESTROY answers: its index entry can go alongside
      const [reply] = await Promise.all([
        runScript(driver, DESTROY, [prefix + member], [INLINE, prefix, member]),
        this.expiry.remove([member]),
      ]);
      const [user, movedTo] = Array.isArray(reply)
        ? [asString(reply[0]), asString(reply[1])]
        : [null, null];
      if (user) await this.index.remove(user, [target]);
      target = movedTo;
    }
  }

  /**
   * Cluster order: tombstone first, then the index entries (as for destroy):
   * the expiry index step goes alongside the user index one, once REVOKE has
   * said which key it revoked.
   */
  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    const ttl = String(toTtl(ttlMs));
    const revoked = await revokeFollowing(this.settings, INLINE, key, String(revokedAt), ttl, '');
    if (revoked) {
      await Promise.all([
        this.index.remove(revoked.user, [revoked.key]),
        this.expiry.remove([revoked.key]),
      ]);
    }
    return revoked !== null;
  }

  /** The index is read (each session one HGETALL), then its dead members are pruned. */
  async listForUser(userId: string, bounded: Bounded): Promise<UserSessionEntry[]> {
    return bounded(async () => {
      const { live, dead } = await this.index.read(userId);
      if (dead.length > 0) await this.index.prune(userId, dead);
      return live;
    });
  }

  /**
   * The index is read, then each session is revoked (only if still that
   * user's), then the revoked entries leave the index.
   */
  async revokeAllForUser(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey: string | undefined,
    bounded: Bounded,
  ): Promise<number> {
    const ttl = String(toTtl(ttlMs));
    return bounded(async () => {
      const { live } = await this.index.read(userId);
      const targets = live.map((entry) => entry.key).filter((key) => key !== exceptKey);
      return (await this.index.revokeSessions(userId, targets, String(revokedAt), ttl)).length;
    });
  }

  /**
   * One REDEEM script on the family's key decides and writes (the atomic
   * step); the index steps follow, as after revoke and update: a family
   * revoked for reuse leaves both indexes, a rotated one gets its new end in
   * the expiry index (after the script, which alone knows whether it
   * rotated and, from the family's creation, the TTL it set: one round trip
   * more than on standalone), and, rarely, a rotated family whose TTL would
   * pass its index's horizon extends the index, then itself.
   */
  async redeem(key: string, request: RedeemRequest): Promise<RedeemOutcome> {
    const { driver, prefix } = this.settings;
    const k = prefix + key;
    const { outcome, user, extendTtl } = redeemReply(
      await runScript(driver, REDEEM, [k], [INLINE, prefix, key, ...redeemArgs(request)]),
    );
    if (outcome.status === 'reused') {
      await Promise.all([
        user ? this.index.remove(user, [key]) : undefined,
        this.expiry.remove([key]),
      ]);
    }
    if (outcome.status === 'rotated') {
      const at = String(request.now + rotatedTtl(outcome.record.createdAt, request));
      await Promise.all([
        this.expiry.add(key, at),
        extendTtl !== undefined && this.extend(user, k, key, extendTtl),
      ]);
    }
    return outcome;
  }

  /** Extends the user index for `ttl`, then the family (its TTL never passes its index). */
  private async extend(user: string, k: string, key: string, ttl: number): Promise<void> {
    const [horizon] = await this.index.add(user, key, ttl, true);
    const horizonArg = String(horizon - CLOCK_MARGIN_MS);
    await runScript(this.settings.driver, EXTEND, [k], [user, String(ttl), horizonArg]);
  }

  /**
   * CLAIM_INDEX on the expiry index claims a batch, then each record is read
   * with its PTTL and re-checked (see ClusterExpiryIndex.claim).
   */
  async claimExpired(before: number, limit: number, bounded: Bounded): Promise<UserSessionEntry[]> {
    return claimInBatches(limit, bounded, (count) => this.expiry.claim(before, count));
  }
}
