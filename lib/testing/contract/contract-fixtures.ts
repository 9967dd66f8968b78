import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../../stores/session-record.js';
import type { SessionStore } from '../../stores/session-store.interface.js';

/** One hour in ms: the TTL of records a case does not mean to expire. */
export const HOUR = 3_600_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fresh store key, shaped as the module makes them (SHA-256, base64url). */
export const key = () => randomBytes(32).toString('base64url');

/** A user nobody else in the run uses, so cases can share one store. */
export const user = () => `user-${randomBytes(6).toString('hex')}`;

/** An anonymous record with two data keys; `overrides` make it a user's, a tombstone, ... */
export function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    handle: randomBytes(16).toString('base64url'),
    createdAt: now,
    lastSeenAt: now,
    data: { views: '1', cart: '["apple"]' },
    ...overrides,
  };
}

/** Registers one contract case: `body` gets the store under test (fresh for the case). */
export type ContractCase = (name: string, body: (store: SessionStore) => Promise<void>) => void;

/** What each group of cases is given: how to declare a case and a nested group. */
export interface ContractCases {
  it: ContractCase;
  describe(name: string, body: () => void): void;
}

/**
 * A copy that compares as jest's `toEqual` does: properties holding
 * `undefined` are left out and prototypes do not count. A store may answer
 * `{ roles: undefined }` or a null-prototype object for what it was given;
 * the contract only cares about the values.
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value)) {
    if (inner !== undefined) copy[name] = plain(inner);
  }
  return copy;
}

/** Deep equality of values, with `toEqual`'s leniency (see `plain`). */
export function assertSame(actual: unknown, expected: unknown, message?: string): void {
  assert.deepStrictEqual(plain(actual), plain(expected), message);
}
