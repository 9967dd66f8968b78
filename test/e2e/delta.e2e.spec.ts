import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { idOf, mintsCookie } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * Rule 6: only changed top-level keys are written, so concurrent requests
 * writing different keys of one session all survive. Store reads are
 * delayed so that every request has loaded the session before any commits:
 * a whole-record write would lose all but the last.
 */
describe.each(PLATFORMS)('delta saves under concurrent requests (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.store.readDelayMs = 0;
  });

  const put = (cookie: string, name: string, value: unknown) =>
    request(http).put(`/prefs/${name}`).set('Cookie', cookie).send({ value });

  it('PUT /prefs/a and PUT /prefs/b at once with the same cookie: both survive', async () => {
    const cookie = await logIn(http);
    h.store.readDelayMs = 50;
    h.store.reset();
    const [a, b] = await Promise.all([put(cookie, 'a', 'A'), put(cookie, 'b', { deep: ['B'] })]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(mintsCookie(a) || mintsCookie(b)).toBe(false);
    expect(h.store.nonZero()).toEqual({ get: 2, update: 2 });
    h.store.readDelayMs = 0;

    expect((await request(http).get('/prefs').set('Cookie', cookie)).body).toEqual({
      a: 'A',
      b: { deep: ['B'] },
    });
    const record = await h.store.inner.get(sessionStoreKey(idOf(cookie)));
    expect(record!.data).toEqual({
      'pref:a': '"A"',
      'pref:b': '{"deep":["B"]}',
      $client: expect.any(String), // the log-in's client, kept by the module
    });
  });

  it('20 concurrent writes of different prefs all survive, and earlier keys are untouched', async () => {
    const cookie = await logIn(http);
    await put(cookie, 'existing', 'kept');
    h.store.readDelayMs = 30;
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const responses = await Promise.all(names.map((name, i) => put(cookie, name, i)));
    for (const res of responses) expect(res.status).toBe(200);
    h.store.readDelayMs = 0;

    const prefs = (await request(http).get('/prefs').set('Cookie', cookie)).body as Record<
      string,
      unknown
    >;
    const expected: Record<string, unknown> = { existing: 'kept' };
    names.forEach((name, i) => (expected[name] = i));
    expect(prefs).toEqual(expected);
  });

  it('GET / (views) and PUT /prefs/lang at once on one session: both keys land', async () => {
    const cookie = await logIn(http);
    h.store.readDelayMs = 40;
    const [home, pref] = await Promise.all([
      request(http).get('/').set('Cookie', cookie),
      put(cookie, 'lang', 'fr'),
    ]);
    h.store.readDelayMs = 0;
    expect(home.body).toEqual({ views: 1 });
    expect(pref.status).toBe(200);
    expect((await request(http).get('/prefs').set('Cookie', cookie)).body).toEqual({ lang: 'fr' });
    expect((await request(http).get('/').set('Cookie', cookie)).body).toEqual({ views: 2 });
  });
});
