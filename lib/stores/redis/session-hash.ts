import type { SessionRecord } from '../session-record.js';

/** Field that carries one top-level data key: `d:<name>`. */
export const DATA_FIELD_PREFIX = 'd:';

/** Flattens a record into HSET field/value pairs (field names: see redis.scripts.ts). */
export function encodeRecord(record: SessionRecord): string[] {
  const pairs = ['h', record.handle, 'c', String(record.createdAt), 'l', String(record.lastSeenAt)];
  if (record.authenticatedAt !== undefined) pairs.push('a', String(record.authenticatedAt));
  if (record.userId !== undefined) pairs.push('u', record.userId);
  if (record.roles !== undefined) pairs.push('r', JSON.stringify(record.roles));
  if (record.revokedAt !== undefined) pairs.push('x', String(record.revokedAt));
  if (record.movedTo !== undefined) pairs.push('m', record.movedTo);
  if (record.readableUntil !== undefined) pairs.push('g', String(record.readableUntil));
  for (const [name, value] of Object.entries(record.data)) {
    pairs.push(DATA_FIELD_PREFIX + name, value);
  }
  return pairs;
}

/**
 * Reads an HGETALL reply (a flat array in RESP2, a map or object in RESP3)
 * back into a record. Anything that is not a hash this store wrote (a
 * missing required field, a number that is not one, roles that are not a
 * list of strings) answers `null`: a foreign or corrupt value is no session.
 */
export function decodeRecord(reply: unknown): SessionRecord | null {
  const fields = toFields(reply);
  if (!fields) return null;
  let handle: string | undefined;
  let createdAt: number | null = null;
  let lastSeenAt: number | null = null;
  const record: SessionRecord = { handle: '', createdAt: 0, lastSeenAt: 0, data: {} };
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
      default:
        if (field.startsWith(DATA_FIELD_PREFIX)) {
          record.data[field.slice(DATA_FIELD_PREFIX.length)] = value;
        }
    }
  }
  if (!handle || createdAt === null || lastSeenAt === null) return null;
  record.handle = handle;
  record.createdAt = createdAt;
  record.lastSeenAt = lastSeenAt;
  return record;
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
