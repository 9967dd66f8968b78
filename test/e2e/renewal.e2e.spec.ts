import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair, idOf } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  sleep,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * Issue 4 item 5: periodic renewal with a grace window. The ID of a live
 * session is renewed after `every`; for `grace` the old ID still resolves to
 * the new session (reads and writes), then it dies.
 */
describe.each(PLATFORMS)('periodic renewal with grace (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    h = await startSampleApp(platform, {
      env: { SESSION_ROTATE_EVERY_MS: '1000', SESSION_ROTATION_GRACE_MS: '800' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('renews the ID, serves the old one for the grace period, then kills it', async () => {
    const oldCookie = await logIn(h.http, 'alice');
    // Before `every`: no renewal.
    const early = await request(h.http).get('/me').set('Cookie', oldCookie);
    expect(early.status).toBe(200);
    expect(early.headers['set-cookie']).toBeUndefined();

    await sleep(1100);
    const renewing = await request(h.http).get('/me').set('Cookie', oldCookie);
    expect(renewing.status).toBe(200);
    const newCookie = cookiePair(renewing);
    expect(idOf(newCookie)).not.toBe(idOf(oldCookie));

    // An in-flight request with the old ID still reads and writes the (new) session.
    const stillThere = await request(h.http).get('/me').set('Cookie', oldCookie);
    expect(stillThere.status).toBe(200);
    expect(stillThere.body.userId).toBe('alice');
    expect(stillThere.headers['set-cookie']).toBeUndefined();
    const write = await request(h.http)
      .put('/prefs/theme')
      .set('Cookie', oldCookie)
      .send({ value: 'dark' });
    expect(write.status).toBe(200);
    const prefs = await request(h.http).get('/prefs').set('Cookie', newCookie);
    expect(prefs.body).toEqual({ theme: 'dark' });

    // After the grace period the old ID is dead; the new one lives on.
    await sleep(900);
    const dead = await request(h.http).get('/me').set('Cookie', oldCookie);
    expect(dead.status).toBe(401);
    const alive = await request(h.http).get('/me').set('Cookie', newCookie);
    expect(alive.status).toBe(200);
  });

  it('gives privilege rotations no grace: the old ID dies at once', async () => {
    const before = await logIn(h.http, 'alice');
    const promoted = await request(h.http).post('/auth/promote').set('Cookie', before);
    expect(promoted.status).toBe(200);
    const old = await request(h.http).get('/me').set('Cookie', before);
    expect(old.status).toBe(401);
  });
});
