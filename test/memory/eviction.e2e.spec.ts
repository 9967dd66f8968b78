import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { MemoryStore } from '../../lib/stores/memory.store.js';
import { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const CAP = 50;
const VISITORS = 500;
const CONCURRENCY = 10;

/**
 * Issue 4 item 6, end to end on the memory store (this file lives outside
 * test/e2e so that the redis-pair project, whose store has no cap, does not
 * run it): a flood of cookie-less visitors, each of whom gets an anonymous
 * session (GET / writes a view count), must not evict the logged-in users of
 * a MemoryStore at `maxSessions`. Anonymous sessions go first.
 */
describe.each(PLATFORMS)('MemoryStore at maxSessions under a visitor flood (%s)', (platform) => {
  let app: SampleAppHarness<CountingStore>;
  let store: CountingStore;

  beforeAll(async () => {
    store = new CountingStore({ maxSessions: CAP });
    app = await startSampleApp(platform, { store });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close(); // a given store is left open by the harness
  });

  it(`${VISITORS} cookie-less GET / (each a new anonymous session) leave alice and admin logged in`, async () => {
    const alice = await logIn(app.http, 'alice');
    const admin = await logIn(app.http, 'admin');
    store.reset();

    const statuses = new Map<number, number>();
    let minted = 0;
    let next = 0;
    const worker = async () => {
      while (next < VISITORS) {
        next++;
        // Node's fetch keeps its connections alive: CONCURRENCY sockets for the whole flood
        const res = await fetch(`${app.http}/`);
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.headers.getSetCookie().some((c) => /^sid=[^;]+/.test(c))) minted++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(Object.fromEntries(statuses)).toEqual({ 200: VISITORS });
    // every visitor really got a session of its own (a store write, a cookie)
    expect(minted).toBe(VISITORS);
    expect(store.calls.set).toBe(VISITORS);
    expect((store.inner as MemoryStore).size).toBeLessThanOrEqual(CAP);

    for (const [cookie, userId] of [
      [alice, 'alice'],
      [admin, 'admin'],
    ] as const) {
      const me = await request(app.http).get('/me').set('Cookie', cookie);
      expect({ userId, status: me.status, body: me.body }).toEqual({
        userId,
        status: 200,
        body: expect.objectContaining({ userId }),
      });
      const sessions = await request(app.http).get('/sessions').set('Cookie', cookie);
      expect(sessions.status).toBe(200);
      expect(sessions.body).toEqual([expect.objectContaining({ current: true })]);
    }
  });
});
