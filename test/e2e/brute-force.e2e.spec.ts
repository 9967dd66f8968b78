import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { SessionEvent } from '../../lib/events/session-event.js';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  newTestStore,
  PLATFORMS,
  startSampleApp,
  subscribeSessionEvents,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const badlySigned = () =>
  `sid=${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
/** Correctly signed, but no such session: what a guesser who stole the secret would send. */
const unknownId = () =>
  `sid=${new CookieSigner([TEST_SECRET]).sign(randomBytes(32).toString('base64url'))}`;

/** Issue 4 item 6: the guessing defence answers 429 to clients that present many invalid IDs. */
describe.each(PLATFORMS)('guessing defence (%s)', (platform) => {
  let store: CountingStore;
  let a: SampleAppHarness<CountingStore>;
  let b: SampleAppHarness<CountingStore>;
  const events: SessionEvent[] = [];

  beforeAll(async () => {
    // Two deployments on one store: the failure count is the store's, so it holds across both.
    store = await newTestStore();
    const env = { SESSION_MAX_ID_FAILURES: '6', TRUST_PROXY: '1' };
    a = await startSampleApp(platform, { store, env });
    b = await startSampleApp(platform, { store, env });
    subscribeSessionEvents(a, (e) => events.push(e));
    subscribeSessionEvents(b, (e) => events.push(e));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await store?.close();
  });

  it('counts unknown and badly signed IDs per client across instances, then answers 429', async () => {
    const client = '203.0.113.7';
    const valid = await logIn(a.http, 'alice');
    for (let i = 0; i < 6; i++) {
      const target = i % 2 === 0 ? a.http : b.http;
      const cookie = i % 3 === 0 ? unknownId() : badlySigned();
      const res = await request(target)
        .get('/me')
        .set('Cookie', cookie)
        .set('X-Forwarded-For', client);
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('no_session');
    }
    const blocked = await request(b.http)
      .get('/me')
      .set('Cookie', badlySigned())
      .set('X-Forwarded-For', client);
    expect(blocked.status).toBe(429);
    expect(blocked.body.reason).toBe('too_many_invalid_sessions');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'brute_force_suspected')).toHaveLength(1);

    // A valid session from the same address is never refused, nor a visitor without a cookie.
    const me = await request(a.http).get('/me').set('Cookie', valid).set('X-Forwarded-For', client);
    expect(me.status).toBe(200);
    const home = await request(a.http).get('/').set('X-Forwarded-For', client);
    expect(home.status).toBe(200);

    // Another client (behind the one trusted proxy) is not affected.
    const other = await request(a.http)
      .get('/me')
      .set('Cookie', badlySigned())
      .set('X-Forwarded-For', '198.51.100.1');
    expect(other.status).toBe(401);
  });

  it('believes only the trusted hop of X-Forwarded-For (client-written entries prove nothing)', async () => {
    const proxySeen = '192.0.2.44';
    for (let i = 0; i < 6; i++) {
      // The client forges a different left-most entry each time; the proxy's entry stays the same.
      const forged = `10.0.0.${i}, ${proxySeen}`;
      const res = await request(a.http)
        .get('/me')
        .set('Cookie', badlySigned())
        .set('X-Forwarded-For', forged);
      expect(res.status).toBe(401);
    }
    const res = await request(a.http)
      .get('/me')
      .set('Cookie', badlySigned())
      .set('X-Forwarded-For', `10.9.9.9, ${proxySeen}`);
    expect(res.status).toBe(429);
  });
});
