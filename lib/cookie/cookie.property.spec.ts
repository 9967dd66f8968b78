import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CountingStore } from '../../test/support/counting.store.js';
import { SessionEvents } from '../events/session-events.js';
import { NO_HOOKS } from '../../test/support/request-sessions.js';
import { generateSessionId, sessionStoreKey } from '../session/session-id.js';
import { SessionEngine } from '../session/session.engine.js';
import { resolveSessionOptions } from '../session.options.js';
import { SessionCookieCodec } from './cookie.codec.js';
import { CookieSigner } from './cookie.signer.js';

/**
 * Rule 10 as properties: whatever string arrives as a Cookie header or as a
 * cookie value, the parser and the verifier never throw and never produce a
 * session. Positive properties alongside make sure "no session" is not just
 * a parser that always says no.
 */
const SECRET = 'property-test-secret-0123456789abcdef';
const OTHER_SECRET = 'another-secret-of-at-least-32-chars!!';
const codec = new SessionCookieCodec({
  name: 'sid',
  path: '/',
  httpOnly: true,
  secure: false,
  sameSite: 'lax',
});
const signer = new CookieSigner([SECRET]);

const B64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
/** Any text: ASCII, full Unicode (lone surrogates included), and raw code units. */
const anyString = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({
    unit: fc.constantFrom(...'sid=;.,"\\ %*:\t_-A0', '__proto__', 'constructor'),
    maxLength: 120,
  }),
);
const b64urlString = (length: number) =>
  fc.string({ unit: fc.constantFrom(...B64URL), minLength: length, maxLength: length });
/** Strings shaped like a signed ID (43 + '.' + 43 base64url characters) but not signed by us. */
const shapedValue = fc.tuple(b64urlString(43), b64urlString(43)).map(([id, sig]) => `${id}.${sig}`);
const cookieName = fc.oneof(
  fc.constantFrom(
    'sid',
    'SID',
    ' sid',
    'sid ',
    '__proto__',
    'constructor',
    'toString',
    'sid[]',
    'a',
    'x-sid',
  ),
  fc.string({ maxLength: 12 }),
);
/** Headers shaped like `name=value; name=value` with hostile names and values. */
const structuredHeader = fc
  .array(
    fc.tuple(cookieName, fc.oneof(anyString, shapedValue), fc.constantFrom('; ', ';', ', ', ' ; ')),
    {
      maxLength: 12,
    },
  )
  .map((pairs) => pairs.map(([n, v, sep]) => `${n}=${v}${sep}`).join(''));

describe('cookie codec and signer properties', () => {
  it('codec.read never throws on any Cookie header and answers a string or undefined', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, structuredHeader), (header) => {
        const value = codec.read(header);
        expect(value === undefined || typeof value === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('codec.read never throws on non-string input either', () => {
    fc.assert(
      fc.property(fc.anything(), (header) => {
        expect(() => codec.read(header)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('signer.verify never throws and never verifies any string it did not sign', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, shapedValue), (value) => {
        expect(signer.verify(value)).toBeNull();
      }),
      { numRuns: 3000 },
    );
  });

  it('no Cookie header yields a session unless it carries a value we signed', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, structuredHeader), (header) => {
        const raw = codec.read(header);
        expect(raw === undefined ? null : signer.verify(raw)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('any single-character change of a signed value fails verification', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat({ max: 86 }),
        fc.constantFrom(...B64URL, '.', '=', '+', '/', ' ', 'é'),
        (bytes, at, replacement) => {
          const signed = signer.sign(Buffer.from(bytes).toString('base64url'));
          const tampered = signed.slice(0, at) + replacement + signed.slice(at + 1);
          fc.pre(tampered !== signed);
          expect(signer.verify(tampered)).toBeNull();
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a value signed with a secret not in the list never verifies', () => {
    const foreign = new CookieSigner([OTHER_SECRET]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        expect(signer.verify(foreign.sign(Buffer.from(bytes).toString('base64url')))).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('positive: any signed ID round-trips, and the codec finds it among hostile neighbours', () => {
    const rotated = new CookieSigner([OTHER_SECRET, SECRET]);
    const neighbour = fc.tuple(
      fc
        .string({ unit: fc.constantFrom(...'abcxyz_-.!*'), minLength: 1, maxLength: 8 })
        .filter((n) => n !== 'sid'),
      fc.string({ unit: fc.constantFrom(...'abc123.=:*%"!'), maxLength: 20 }),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(neighbour, { maxLength: 5 }),
        fc.array(neighbour, { maxLength: 5 }),
        (bytes, before, after) => {
          const id = Buffer.from(bytes).toString('base64url');
          const signed = signer.sign(id);
          expect(signer.verify(signed)).toMatchObject({ id, signedWithRetiredSecret: false });
          expect(rotated.verify(signed)).toMatchObject({ id, signedWithRetiredSecret: true });
          const pairs = [...before, ['sid', signed], ...after].map(([n, v]) => `${n}=${v}`);
          expect(codec.read(pairs.join('; '))).toBe(signed);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('session loader properties', () => {
  // The loader only hands these to the session; every hook is a no-op here.
  const load = (engine: SessionEngine, cookieHeader: string) =>
    engine.loader.load({
      cookieHeader,
      userAgent: undefined,
      clientAddress: () => '203.0.113.1',
      hooks: NO_HOOKS,
    });
  const commit = (engine: SessionEngine, session: Awaited<ReturnType<typeof load>>) =>
    engine.committer.commit(
      session,
      engine.committer.plan(session, { rotateOnSuccess: false, status: 200 }),
    );

  it('any Cookie header loads as "no session" and writes nothing to the store', async () => {
    const store = new CountingStore();
    const engine = new SessionEngine(
      resolveSessionOptions({ secret: SECRET, store }),
      new SessionEvents(),
    );
    // one real session in the store, so that a lucky guess would have something to find
    const liveId = generateSessionId();
    await store.inner.set(
      sessionStoreKey(liveId),
      { handle: 'h', createdAt: Date.now(), lastSeenAt: Date.now(), userId: 'u', data: {} },
      60_000,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyString,
          structuredHeader,
          shapedValue.map((v) => `sid=${v}`),
        ),
        async (header) => {
          const session = await load(engine, header);
          expect(session.isNew).toBe(true);
          expect(session.isAuthenticated).toBe(false);
          expect(session.id).toBeUndefined();
          expect(await commit(engine, session)).toEqual(
            expect.not.arrayContaining([expect.stringMatching(/^sid=[^;]/)]),
          );
        },
      ),
      { numRuns: 1000 },
    );
    expect(store.writes()).toBe(0);
    // positive: the live session's own cookie does load it
    const session = await load(engine, `a=1; sid=${signer.sign(liveId)}`);
    expect(session.userId).toBe('u');
    await store.close();
  });
});
