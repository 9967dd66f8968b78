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
  const fields = toFieldMap(reply);
  if (!fields) return null;
  const handle = fields.get('h');
  const createdAt = toTime(fields.get('c'));
  const lastSeenAt = toTime(fields.get('l'));
  if (!handle || createdAt === null || lastSeenAt === null) return null;
  const record: SessionRecord = { handle, createdAt, lastSeenAt, data: {} };
  for (const [field, value] of fields) {
    switch (field) {
      case 'a':
      case 'x': {
        const time = toTime(value);
        if (time === null) return null;
        record[field === 'a' ? 'authenticatedAt' : 'revokedAt'] = time;
        break;
      }
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
  return record;
}

function toFieldMap(reply: unknown): Map<string, string> | null {
  let entries: Iterable<[unknown, unknown]>;
  if (Array.isArray(reply)) {
    if (reply.length === 0 || reply.length % 2 !== 0) return null;
    const pairs: [unknown, unknown][] = [];
    for (let i = 0; i < reply.length; i += 2) pairs.push([reply[i], reply[i + 1]]);
    entries = pairs;
  } else if (reply instanceof Map) {
    entries = reply.entries();
  } else if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply)) {
    entries = Object.entries(reply);
  } else {
    return null;
  }
  const fields = new Map<string, string>();
  for (const [field, value] of entries) {
    const name = asText(field);
    const text = asText(value);
    if (name === null || text === null) return null;
    fields.set(name, text);
  }
  return fields.size > 0 ? fields : null;
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
