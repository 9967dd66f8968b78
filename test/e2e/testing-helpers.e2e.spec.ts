import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { createSessionCookie } from '../../lib/testing/index.js';
import type { CountingStore } from '../support/counting.store.js';
import { PLATFORMS, startSampleApp, type SampleAppHarness } from '../support/sample-app.harness.js';

const SIGNED = '[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}';

/**
 * `nest-session-manager/testing`'s createSessionCookie: a logged-in session
 * made straight in the app's store, and the Cookie header that names it, as
 * a user's own e2e tests would use it (in redis-pair mode the session is
 * made through the first instance and served by both).
 */
describe.each(PLATFORMS)('createSessionCookie (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('logs a user in without the log-in form: GET /me answers that user and roles', async () => {
    const cookie = await createSessionCookie(h.app, { userId: 'alice', roles: ['user'] });
    expect(cookie).toMatch(new RegExp(`^sid=${SIGNED}$`));
    for (let i = 0; i < 2; i++) {
      const res = await request(http).get('/me').set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ userId: 'alice', roles: ['user'] });
    }
  });

  it('gives the roles @RequireSession reads, and none by default', async () => {
    const admin = await createSessionCookie(h.app, { userId: 'root', roles: ['user', 'admin'] });
    expect((await request(http).get('/admin').set('Cookie', admin)).status).toBe(200);
    const plain = await createSessionCookie(h.app, { userId: 42 });
    const me = await request(http).get('/me').set('Cookie', plain);
    expect(me.body).toEqual({ userId: '42', roles: [] });
    expect((await request(http).get('/admin').set('Cookie', plain)).status).toBe(403);
  });

  it('puts `data` in the session: GET /prefs shows it', async () => {
    const cookie = await createSessionCookie(h.app, {
      userId: 'alice',
      data: { 'pref:theme': 'dark', 'pref:layout': { columns: 2, dense: true } },
    });
    const res = await request(http).get('/prefs').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ theme: 'dark', layout: { columns: 2, dense: true } });
    // ...and the session takes writes like any other
    await request(http).put('/prefs/lang').set('Cookie', cookie).send({ value: 'fr' }).expect(200);
    const after = await request(http).get('/prefs').set('Cookie', cookie);
    expect(after.body).toEqual({ theme: 'dark', layout: { columns: 2, dense: true }, lang: 'fr' });
  });

  it('is a real session: listed as current, ended by logout, stored under the hashed ID', async () => {
    const user = `helper-${platform}-${Date.now()}`;
    const cookie = await createSessionCookie(h.app, { userId: user });
    const listed = await request(http).get('/sessions').set('Cookie', cookie);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ current: true })]);
    const id = cookie.slice('sid='.length, cookie.indexOf('.'));
    expect((await h.store.get(sessionStoreKey(id)))?.userId).toBe(user);
    expect(await h.store.get(id)).toBeNull(); // never the ID itself as the key
    await request(http).post('/auth/logout').set('Cookie', cookie).expect(200);
    const after = await request(http).get('/me').set('Cookie', cookie);
    expect(after.status).toBe(401);
  });

  it('refuses what a log-in would refuse, saying why', async () => {
    await expect(createSessionCookie(h.app, { userId: '' })).rejects.toThrow(
      'userId must be a non-empty string or a finite number',
    );
    await expect(
      createSessionCookie(h.app, { userId: 'alice', data: { $csrf: 'x' } }),
    ).rejects.toThrow("data key '$csrf' is reserved");
    await expect(
      createSessionCookie(h.app, { userId: 'alice', roles: 'admin' as never }),
    ).rejects.toThrow('roles must be an array of non-empty strings');
  });
});

describe.each(PLATFORMS)('createSessionCookie with the production cookie (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("names the app's cookie (__Host-sid), which the app accepts", async () => {
    const cookie = await createSessionCookie(h.app, { userId: 'alice', roles: ['user'] });
    expect(cookie).toMatch(new RegExp(`^__Host-sid=${SIGNED}$`));
    const res = await request(h.http).get('/me').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'alice', roles: ['user'] });
  });
});
