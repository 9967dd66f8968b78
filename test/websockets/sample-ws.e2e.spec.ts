import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';
import { closeAllProbes, openWs } from './socket-probes.js';

/**
 * The sample's `/ws` gateway, as `npm run start:sample` serves it: with a
 * live session it says whose on connect; without one it closes with 4401;
 * when the session ends (POST /auth/logout) it closes with 4401. Both HTTP
 * platforms, on the sample's own store.
 */
describe.each(PLATFORMS)('the sample /ws gateway (%s)', (platform) => {
  let h: SampleAppHarness;
  let wsUrl: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    wsUrl = `${h.http.replace(/^http/, 'ws')}/ws`;
  });
  afterEach(() => closeAllProbes());
  afterAll(async () => {
    await h?.close();
  });

  it('a live session: {"event":"session","data":{"userId":…}} on connect', async () => {
    const cookie = await logIn(h.http, 'alice');
    const socket = openWs(wsUrl, cookie);
    expect(await socket.next('session')).toMatchObject({ userId: 'alice' });
  });

  it('no session: closed with 4401', async () => {
    const end = await openWs(wsUrl).ended;
    expect(end.code).toBe(4401);
  });

  it('the session ends (logout): closed with 4401 within 2 s', async () => {
    const cookie = await logIn(h.http, 'alice');
    const socket = openWs(wsUrl, cookie);
    await socket.next('session');
    const loggedOut = performance.now();
    expect((await request(h.http).post('/auth/logout').set('Cookie', cookie)).status).toBe(200);
    const end = await socket.ended;
    expect(end.code).toBe(4401);
    expect(end.at - loggedOut).toBeLessThan(2_000);
  });
});
