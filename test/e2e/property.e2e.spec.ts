import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import { idOf, liveSessionCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import { cookieLine, rawGet } from '../support/raw-http.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const B64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
const b64url = (n: number) =>
  fc.string({ unit: fc.constantFrom(...B64URL), minLength: n, maxLength: n });
/** Any header text a client could put on the wire, minus CR and LF (which would end the header). */
const headerText = fc
  .oneof(
    fc.string({ maxLength: 400 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({
      unit: fc.constantFrom(...'sid=;.,"\\ %*:\t_-A0', '__proto__', 'sid=', '; sid='),
      maxLength: 150,
    }),
    fc.tuple(b64url(43), b64url(43)).map(([id, sig]) => `sid=${id}.${sig}`),
    fc.string({ unit: 'binary', maxLength: 60 }).map((junk) => `junk=${junk}; sid=${junk}`),
  )
  .map((s) => s.replace(/[\r\n]/g, ''));

/** Rule 10 at the HTTP level: a few hundred random Cookie headers per platform. */
describe.each(PLATFORMS)('random Cookie headers over HTTP (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    // Thousands of invalid IDs from one address: lift the guessing defence's 429 out of the way.
    h = await startSampleApp(platform, { env: { SESSION_MAX_ID_FAILURES: '1000000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /me: never 5xx, never a session, never a store write', async () => {
    // a live session exists, so a header that somehow found it would show up as a 200
    await logIn(h.http, 'alice');
    h.store.reset();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(headerText, async (header) => {
        const res = await rawGet(h.port, '/me', [cookieLine(header)]);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        // 400 only from the HTTP parser (bytes it refuses); everything else reaches the guard
        expect([400, 401]).toContain(res.status);
        if (res.status === 401) expect(JSON.parse(res.body).reason).toBe('no_session');
        expect(liveSessionCookies(res)).toEqual([]);
      }),
      { numRuns: 300 },
    );
    expect(h.store.writes()).toBe(0);
    // most random headers reach the app (the run is not just the parser saying no)
    expect(statuses.get(401) ?? 0).toBeGreaterThan(150);
  });

  it('GET /: never 5xx, and a new session never takes an ID the client sent', async () => {
    const signer = new CookieSigner([TEST_SECRET]);
    await fc.assert(
      fc.asyncProperty(headerText, async (header) => {
        const res = await rawGet(h.port, '/', [cookieLine(header)]);
        expect([200, 400]).toContain(res.status);
        if (res.status !== 200) return;
        expect(JSON.parse(res.body)).toEqual({ views: 1 });
        const [minted] = liveSessionCookies(res);
        expect(minted).toBeDefined();
        expect(header).not.toContain(idOf(minted.value));
        expect(signer.verify(minted.value)).not.toBeNull();
      }),
      { numRuns: 150 },
    );
  });
});
