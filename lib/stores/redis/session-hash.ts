import type { RefreshFamilyState, SessionRecord } from '../session-record.js';

/** Field that carries one top-level data key: `d:<name>`. */
export const DATA_FIELD_PREFIX = 'd:';
/**
 * Fields that remember one refresh token a family issued: `t:<digest>` =
 * its generation, so the redeem script tells a rotated token from a forged
 * one with a single HEXISTS, and `n:<generation>` = its digest, so the
 * script can forget the token REFRESH_TOKEN_HISTORY generations back. Never
 * read back into the record.
 */
const ISSUED_FIELD_PREFIX = 't:';
const GENERATION_FIELD_PREFIX = 'n:';

/** Flattens a record into HSET field/value pairs (field names: see redis.scripts.ts). */
export function encodeRecord(record: SessionRecord): string[] {
  const pairs = ['h', record.handle, 'c', String(record.createdAt), 'l', String(record.lastSeenAt)];
  if (record.authenticatedAt !== undefined) pairs.push('a', String(record.authenticatedAt));
  if (record.userId !== undefined) pairs.push('u', record.userId);
  if (record.roles !== undefined) pairs.push('r', JSON.stringify(record.roles));
  if (record.revokedAt !== undefined) pairs.push('x', String(record.revokedAt));
  if (record.movedTo !== undefined) pairs.push('m', record.movedTo);
  if (record.readableUntil !== undefined) pairs.push('g', String(record.readableUntil));
  if (record.refresh !== undefined) pairs.push(...encodeRefresh(record.refresh));
  for (const [name, value] of Object.entries(record.data)) {
    pairs.push(DATA_FIELD_PREFIX + name, value);
  }
  return pairs;
}

/**
 * Reads an HGETALL reply (a flat array in RESP2, a map or object in RESP3)
 * back into a record. Anything that is not a hash this store wrote (a
 * missing required field, a number that is not one, roles that are not a
 * list of strings, refresh fields without a current token and generation)
 * answers `null`: a foreign or corrupt value is no session. A family's
 * issued-token marks (`t:<digest>`) are the redeem script's; they are skipped.
 */
export function decodeRecord(reply: unknown): SessionRecord | null {
  const fields = toFields(reply);
  if (!fields) return null;
  let handle: string | undefined;
  let createdAt: number | null = null;
  let lastSeenAt: number | null = null;
  const record: SessionRecord = { handle: '', createdAt: 0, lastSeenAt: 0, data: {} };
  let refresh: Partial<RefreshFamilyState> | undefined;
  // One pass over the flat field/value list: no intermediate pairs or Map
  // (this runs on every request that has a session).
  for (let i = 0; i < fields.length; i += 2) {
    const field = asText(fields[i]);
    const value = asText(fields[i + 1]);
    if (field === null || value === null) return null;
    switch (field) {
      case 'h':
        handle = value;
        break;
      case 'c':
        createdAt = toTime(value);
        if (createdAt === null) return null;
        break;
      case 'l':
        lastSeenAt = toTime(value);
        if (lastSeenAt === null) return null;
        break;
      case 'a':
      case 'x':
      case 'g': {
        const time = toTime(value);
        if (time === null) return null;
        record[field === 'a' ? 'authenticatedAt' : field === 'x' ? 'revokedAt' : 'readableUntil'] =
          time;
        break;
      }
      case 'm':
        record.movedTo = value;
        break;
      case 'u':
        record.userId = value;
        break;
      case 'r': {
        const roles = parseRoles(value);
        if (!roles) return null;
        record.roles = roles;
        break;
      }
      case 'tc':
        (refresh ??= {}).current = value;
        break;
      case 'tp':
        (refresh ??= {}).previous = value;
        break;
      case 'ts':
        (refresh ??= {}).sealedSuccessor = value;
        break;
      case 'tn':
      case 'tr': {
        const number = toTime(value);
        if (number === null) return null;
        (refresh ??= {})[field === 'tn' ? 'generation' : 'rotatedAt'] = number;
        break;
      }
      default:
        if (field.startsWith(DATA_FIELD_PREFIX)) {
          record.data[field.slice(DATA_FIELD_PREFIX.length)] = value;
        }
    }
  }
  if (!handle || createdAt === null || lastSeenAt === null) return null;
  if (refresh) {
    // Half a family (no current token or no generation) is no record we wrote.
    if (refresh.current === undefined || refresh.generation === undefined) return null;
    record.refresh = refresh as RefreshFamilyState;
  }
  record.handle = handle;
  record.createdAt = createdAt;
  record.lastSeenAt = lastSeenAt;
  return record;
}

/**
 * A family's rotation state (tc current, tn generation, tp previous, tr
 * rotatedAt, ts sealedSuccessor), and one issued mark for each token it
 * names: a family written whole (a log-in) has issued exactly those.
 */
function encodeRefresh(refresh: RefreshFamilyState): string[] {
  const pairs = ['tc', refresh.current, 'tn', String(refresh.generation)];
  if (refresh.previous !== undefined) pairs.push('tp', refresh.previous);
  if (refresh.rotatedAt !== undefined) pairs.push('tr', String(refresh.rotatedAt));
  if (refresh.sealedSuccessor !== undefined) pairs.push('ts', refresh.sealedSuccessor);
  pairs.push(...issuedFields(refresh.current, refresh.generation));
  if (refresh.previous !== undefined) {
    pairs.push(...issuedFields(refresh.previous, refresh.generation - 1));
  }
  return pairs;
}

/** The two fields that remember one issued token (see ISSUED_FIELD_PREFIX). */
function issuedFields(digest: string, generation: number): string[] {
  return [
    ISSUED_FIELD_PREFIX + digest,
    String(generation),
    GENERATION_FIELD_PREFIX + generation,
    digest,
  ];
}

/** The reply as a flat field/value list (RESP2 arrays as they are; RESP3 maps and objects flattened). */
function toFields(reply: unknown): unknown[] | null {
  if (Array.isArray(reply)) {
    return reply.length > 0 && reply.length % 2 === 0 ? reply : null;
  }
  let entries: Iterable<[unknown, unknown]>;
  if (reply instanceof Map) entries = reply.entries();
  else if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply)) {
    entries = Object.entries(reply);
  } else return null;
  const flat: unknown[] = [];
  for (const [field, value] of entries) flat.push(field, value);
  return flat.length > 0 ? flat : null;
}

function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

function toTime(value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  const time = Number(value);
  return Number.isFinite(time) ? time : null;
}

function parseRoles(value: string): string[] | null {
  try {
    const roles: unknown = JSON.parse(value);
    return Array.isArray(roles) && roles.every((role) => typeof role === 'string') ? roles : null;
  } catch {
    return null;
  }
}
