import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseCookie } from 'cookie';
import fc from 'fast-check';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import { idOf, liveSessionCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import { RawConnection, sendAll, type RawRequest } from '../support/raw-keepalive.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** Generated Cookie headers per platform (issue 4: at least 10,000). */
const BATCH = 100;
const BATCHES = 100;
const CONNECTIONS = 8;
/** A secret the app once used and has dropped, and one it never had. */
const RETIRED_SECRET = 'retired-secret-0123456789-abcdefghijklmnopqrs';

const B64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
const b64char = fc.constantFrom(...B64URL);
const b64url = (n: number) => fc.string({ unit: b64char, minLength: n, maxLength: n });
/** Characters that break IDs: separators, wildcards, quotes, CR/LF look-alikes, controls, non-ASCII. */
const nastyChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'*:.=;,"\\ %+/', '\t') },
  // CR/LF look-alikes that an HTTP parser lets through: Unicode line separators, NEL, encoded
  { weight: 3, arbitrary: fc.constantFrom('\u2028', '\u2029', '\u0085', '%0d%0a', '%0a', '%00') },
  // control characters (Node's parser answers 400 for most: that is a normal response too)
  {
    weight: 1,
    arbitrary: fc.constantFrom('\u0000', '\u0001', '\u000b', '\u000c', '\u001b', '\u007f'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const anyChar = fc.oneof({ weight: 3, arbitrary: b64char }, { weight: 2, arbitrary: nastyChar });
/** Names that look like the session cookie's but are not (cookie names are case-sensitive). */
const LOOK_ALIKES = [
  '__host-sid',
  '%5F%5FHost-sid',
  '__Host-sid',
  '__Secure-sid',
  'SID',
  'Sid',
  'sId',
  's%69d',
  'sid%20',
  'sid[]',
  'sid.',
  'sid2',
  'xsid',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
];

/** Hostile variations of a live session's cookie value `valid` (`id.signature`). */
function mutations(valid: string) {
  const id = idOf(valid);
  const sig = valid.slice(44);
  return fc.oneof(
    // one character changed (anywhere: ID, dot or signature)
    fc
      .tuple(fc.nat(valid.length - 1), anyChar)
      .filter(([at, ch]) => valid[at] !== ch)
      .map(([at, ch]) => valid.slice(0, at) + ch + valid.slice(at + 1)),
    // truncated, extended, prefixed, with a character inserted
    fc.nat(valid.length - 1).map((k) => valid.slice(0, k)),
    fc.string({ unit: anyChar, minLength: 1, maxLength: 24 }).map((s) => valid + s),
    fc.string({ unit: anyChar, minLength: 1, maxLength: 8 }).map((s) => s + valid),
    fc
      .tuple(fc.nat(valid.length), anyChar)
      .map(([at, ch]) => valid.slice(0, at) + ch + valid.slice(at)),
    // the live ID signed with a dropped secret, or any other secret
    fc.constant(new CookieSigner([RETIRED_SECRET]).sign(id)),
    fc
      .string({ minLength: 32, maxLength: 48 })
      .map((secret) => new CookieSigner([secret]).sign(id)),
    // validly signed IDs the store never issued; the live ID with another ID's signature
    b64url(43).map((other) => new CookieSigner([TEST_SECRET]).sign(other)),
    b64url(43).map((other) => `${id}.${new CookieSigner([TEST_SECRET]).sign(other).slice(44)}`),
    // separators and wildcards where the ID or signature should be
    fc.constantFrom(
      `${id}:${sig}`,
      `${id}*${sig}`,
      `*.${sig}`,
      `${id}.*`,
      '*',
      '*.*',
      ':',
      `${sig}.${id}`,
      `${id}.${sig}.${sig}`,
      `${id}..${sig}`,
      `${id}`,
      `${id}.`,
      `.${sig}`,
      valid.replace(/-/g, '+').replace(/_/g, '/'),
      encodeURIComponent(valid).replace(/[A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16)}`),
    ),
  );
}

/** One `name=value` pair of a hostile Cookie header. */
function pair(valid: string) {
  const junkValue = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({ unit: anyChar, maxLength: 90 }),
    b64url(87),
  );
  return fc.oneof(
    { weight: 6, arbitrary: mutations(valid).map((v) => `sid=${v}`) },
    { weight: 2, arbitrary: fc.constantFrom(...LOOK_ALIKES).map((name) => `${name}=${valid}`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...LOOK_ALIKES), mutations(valid))
        .map(([name, v]) => `${name}=${v}`),
    },
    { weight: 2, arbitrary: junkValue.map((v) => `sid=${v}`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.string({ unit: anyChar, maxLength: 12 }), junkValue)
        .map(([n, v]) => `${n}=${v}`),
    },
    // the genuine cookie: its presence must be honoured, whatever surrounds it
    { weight: 1, arbitrary: fc.constant(`sid=${valid}`) },
  );
}

/** A whole Cookie header value (never CR or LF: those end the header line; see the table suite). */
function cookieHeader(valid: string) {
  const pairs = fc
    .tuple(
      fc.array(pair(valid), { minLength: 1, maxLength: 5 }),
      fc.constantFrom('; ', ';', ';;', ' ; ', ', ', ';\t'),
    )
    .map(([ps, sep]) => ps.join(sep));
  return fc
    .oneof(
      { weight: 8, arbitrary: pairs },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      {
        // oversized: near and past the codec's 16 KB limit (Node's own limit answers 431)
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 4000, max: 17000 }), pairs)
          .map(([n, p]) => `pad=${'x'.repeat(n)}; ${p}`),
      },
      {
        // duplicated session cookies
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 2, max: 200 }), mutations(valid))
          .map(([n, v]) => Array.from({ length: n }, () => `sid=${v}`).join('; ')),
      },
    )
    .map((s) => s.replace(/[\r\n]/g, ''));
}

interface Probe {
  method: string;
  path: string;
  body?: string;
  /** Status with the genuine session, and its reason (if any). */
  live: number;
  liveReason?: string;
  /** Status without a session. */
  none: number;
}

/** Routes that never write to the store for an alice session (reads, guards, refusals). */
const PROBES: Probe[] = [
  { method: 'GET', path: '/me', live: 200, none: 401 },
  { method: 'GET', path: '/prefs', live: 200, none: 401 },
  { method: 'GET', path: '/sessions', live: 200, none: 401 },
  { method: 'GET', path: '/account/security', live: 200, none: 401 },
  { method: 'GET', path: '/admin', live: 403, liveReason: 'forbidden', none: 401 },
  {
    method: 'POST',
    path: '/transfer',
    body: '{"amount":1}',
    live: 403,
    liveReason: 'csrf',
    none: 401,
  },
  { method: 'GET', path: '/health', live: 200, none: 200 },
];

/** What the server sees: the UTF-8 bytes of the generated text, read as Latin-1 by Node. */
const onTheWire = (header: string) => Buffer.from(header, 'utf8').toString('latin1');

/** The session codec reads at most this many `sid` values of one header. */
const MAX_SID_VALUES = 8;

/**
 * Whether a correct server must find the live session in this Cookie header:
 * its genuine cookie is among the first `sid` values (a planted cookie before
 * it must not hide it, issue 8 item 7). Each `;`-separated pair is parsed on
 * its own by the `cookie` package, as the codec splits them.
 */
function presentsLiveSession(header: string, valid: string): boolean {
  const wire = onTheWire(header);
  if (wire.length > 16_384) return false;
  try {
    const values = wire
      .split(';')
      .map((pair) => parseCookie(pair, { decode: (v) => v }).sid)
      .filter((value) => value !== undefined);
    return values.slice(0, MAX_SID_VALUES).includes(valid);
  } catch {
    return false;
  }
}

/**
 * Issue 4 item 11, property part: 10,000 generated hostile Cookie headers
 * per platform, each sent raw (over kept-alive sockets) to a route that
 * reads the session. A header is judged against the one thing a correct
 * server may do: find the live session exactly when the header carries its
 * genuine cookie (among the first `sid` pairs, byte for byte). Never a 5xx, never a
 * new session cookie, and not one store write.
 */
describe.each(PLATFORMS)('generated hostile Cookie headers (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let pool: RawConnection[];
  let valid: string;

  beforeAll(async () => {
    // thousands of invalid IDs from one address: the guessing defence (429) is lifted here
    h = await startSampleApp(platform, { env: { SESSION_MAX_ID_FAILURES: '100000000' } });
    valid = (await logIn(h.http, 'alice')).slice('sid='.length);
    pool = Array.from({ length: CONNECTIONS }, () => new RawConnection(h.port));
  });
  afterAll(async () => {
    for (const connection of pool ?? []) connection.close();
    await h?.close();
  });

  it(`${BATCH * BATCHES} headers: no 5xx, the session only with its genuine cookie, zero store writes`, async () => {
    const started = Date.now();
    const statuses = new Map<number, number>();
    let sent = 0;
    let withSession = 0;
    h.store.reset();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(cookieHeader(valid), fc.nat(PROBES.length - 1), fc.boolean()), {
          minLength: BATCH,
          maxLength: BATCH,
        }),
        async (batch) => {
          const requests: RawRequest[] = batch.map(([header, p, split]) => {
            const probe = PROBES[p];
            // sometimes split across two Cookie lines, which Node joins with "; "
            const at = split ? header.indexOf(';') : -1;
            const lines =
              at > 0
                ? [`Cookie: ${header.slice(0, at)}`, `Cookie: ${header.slice(at + 1).trimStart()}`]
                : [`Cookie: ${header}`];
            const headerLines = lines.map((l) => Buffer.from(l, 'utf8'));
            if (probe.body) headerLines.push(Buffer.from('Content-Type: application/json'));
            return { method: probe.method, path: probe.path, headerLines, body: probe.body };
          });
          const responses = await sendAll(pool, requests);
          sent += responses.length;
          responses.forEach((res, i) => {
            const [header, p, split] = batch[i];
            const probe = PROBES[p];
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            const context = `${probe.method} ${probe.path} Cookie: ${JSON.stringify(header)}`;
            if (res.status >= 500) throw new Error(`${context}: ${res.status} ${res.body}`);
            expect(liveSessionCookies(res)).toEqual([]);
            if (res.headers['set-cookie'] !== undefined) {
              expect(res.headers['cache-control']).toBe('no-store');
            }
            // refused by Node's HTTP parser (control bytes, size): no app code ran
            if (res.status === 400 || res.status === 431) return;
            const joined = split && header.indexOf(';') > 0 ? header.replace(/;\s*/, '; ') : header;
            const live = presentsLiveSession(joined, valid);
            if (live) withSession++;
            const expected = live ? probe.live : probe.none;
            if (res.status !== expected) {
              throw new Error(`${context}: expected ${expected}, got ${res.status} ${res.body}`);
            }
            const reason = live ? probe.liveReason : probe.none === 401 ? 'no_session' : undefined;
            if (reason) expect(JSON.parse(res.body).reason).toBe(reason);
            if (live && probe.live === 200 && probe.path === '/me') {
              expect(JSON.parse(res.body).userId).toBe('alice');
            }
          });
          // not one store write, batch after batch (reads of the live session are fine)
          expect(h.store.writes()).toBe(0);
        },
      ),
      { numRuns: BATCHES },
    );
    const ms = Date.now() - started;
    const reached = sent - (statuses.get(400) ?? 0) - (statuses.get(431) ?? 0);
    console.log(
      `[${platform}] ${sent} generated Cookie headers in ${ms} ms over ${CONNECTIONS} kept-alive connections ` +
        `(${pool.reduce((n, c) => n + c.connects, 0)} connects); statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `${withSession} carried the genuine cookie; store calls ${JSON.stringify(h.store.nonZero())}`,
    );
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(h.store.calls.set + h.store.calls.update + h.store.calls.rotate).toBe(0);
    expect(h.store.writes()).toBe(0);
    // most headers reached the app (not just the HTTP parser saying no), and both outcomes occurred
    expect(reached).toBeGreaterThan(sent * 0.8);
    expect(withSession).toBeGreaterThan(0);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(sent / 2);
  }, 120_000);
});
