import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import type { SessionEvent } from '../../lib/events/session-event.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { idOf } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  PASSWORDS,
  PLATFORMS,
  startSampleApp,
  subscribeSessionEvents,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';
import { cookiePair } from '../support/cookies.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36';
const THIEF = 'curl/8.5.0';

/**
 * Issue 4 item 4 over both platforms: with SESSION_BIND_USER_AGENT=1
 * (`bindTo: ['user-agent']`) the session cookie presented by another
 * User-Agent revokes the session (401 `revoked`, for the thief and then the
 * owner too) and emits `rejected` (`binding`) then `destroyed` (`revoked`).
 */
describe.each(PLATFORMS)('User-Agent binding (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;
  let events: SessionEvent[];
  let subscription: Subscription;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { SESSION_BIND_USER_AGENT: '1' } });
    http = h.http;
    events = [];
    // every instance's events (both in redis-pair mode): the hijack may be seen by either
    subscription = subscribeSessionEvents(h, (e) => events.push(e));
  });
  afterAll(async () => {
    subscription?.unsubscribe();
    await h?.close();
  });

  const logInAs = async (userAgent: string) => {
    const res = await request(http)
      .post('/auth/login')
      .set('User-Agent', userAgent)
      .send({ username: 'alice', password: PASSWORDS.alice });
    expect(res.status).toBe(200);
    return cookiePair(res);
  };
  const me = (cookie: string, userAgent?: string) => {
    const req = request(http).get('/me').set('Cookie', cookie);
    if (userAgent !== undefined) req.set('User-Agent', userAgent);
    return req;
  };

  it('the same cookie from another User-Agent: 401 revoked, then the owner is logged out too', async () => {
    const cookie = await logInAs(BROWSER);
    expect((await me(cookie, BROWSER)).status).toBe(200);
    expect((await me(cookie, BROWSER)).status).toBe(200);
    const handle = events.find((e) => e.type === 'created' && e.reason === 'login')?.handle;
    expect(handle).toBeDefined();
    events.length = 0;

    const stolen = await me(cookie, THIEF);
    expect(stolen.status).toBe(401);
    expect(stolen.body.reason).toBe('revoked');

    const hijack = events.filter((e) => e.type === 'rejected' && e.reason === 'binding');
    expect(hijack).toHaveLength(1);
    expect(hijack[0]).toMatchObject({ userId: 'alice', handle, userAgent: THIEF });
    expect(hijack[0].handle).toEqual(expect.any(String));
    const revoked = events.filter((e) => e.type === 'destroyed');
    expect(revoked).toEqual([expect.objectContaining({ reason: 'revoked', handle })]);
    // the event names the session by its handle, never by its ID
    expect(JSON.stringify(events)).not.toContain(idOf(cookie));

    const owner = await me(cookie, BROWSER);
    expect(owner.status).toBe(401);
    expect(owner.body.reason).toBe('revoked');
    const record = await h.store.inner.get(sessionStoreKey(idOf(cookie)));
    expect(record?.revokedAt).toEqual(expect.any(Number));
    // the user's session list no longer has it
    const fresh = await logInAs(BROWSER);
    const list = await request(http)
      .get('/sessions')
      .set('Cookie', fresh)
      .set('User-Agent', BROWSER);
    expect(list.body.map((s: { handle: string }) => s.handle)).not.toContain(hijack[0].handle);
  });

  it('a request with no User-Agent at all is a mismatch too', async () => {
    const cookie = await logInAs(BROWSER);
    const res = await request(http).get('/me').set('Cookie', cookie).unset('User-Agent');
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('revoked');
    expect((await me(cookie, BROWSER)).status).toBe(401);
  });

  it('the same User-Agent keeps working across many requests and a rotation', async () => {
    const cookie = await logInAs(BROWSER);
    for (let i = 0; i < 5; i++) expect((await me(cookie, BROWSER)).status).toBe(200);
    const promoted = await request(http)
      .post('/auth/promote')
      .set('Cookie', cookie)
      .set('User-Agent', BROWSER);
    expect(promoted.status).toBe(200);
    const rotated = cookiePair(promoted);
    expect((await me(rotated, BROWSER)).status).toBe(200);
    expect((await me(rotated, THIEF)).status).toBe(401);
  });
});

describe.each(PLATFORMS)('without User-Agent binding (default) (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    h = await startSampleApp(platform);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the User-Agent may change (control for the suite above)', async () => {
    const res = await request(h.http)
      .post('/auth/login')
      .set('User-Agent', BROWSER)
      .send({ username: 'alice', password: PASSWORDS.alice });
    const cookie = cookiePair(res);
    const other = await request(h.http).get('/me').set('Cookie', cookie).set('User-Agent', THIEF);
    expect(other.status).toBe(200);
  });
});
