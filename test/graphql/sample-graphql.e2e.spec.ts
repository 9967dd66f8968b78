import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair, idOf, sessionCookie } from '../support/cookies.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * The sample app's `POST /graphql` (sample/graphql.module.ts, mounted by
 * sample/app.module.ts): Apollo on Express, Mercurius on Fastify, `me`,
 * `login` and `logout` on the same session as the REST routes. The app is
 * the one `npm run start:sample` runs, through the harness (which puts the
 * mercurius shim in place, test/support/native-require.ts).
 */

const ME = 'query { me { userId roles } }';
const LOGIN = (username: string, password: string) =>
  `mutation { login(username: "${username}", password: "${password}") { userId roles } }`;

describe.each(PLATFORMS)('the sample app at POST /graphql (%s)', (platform) => {
  let running: SampleAppHarness;

  beforeAll(async () => {
    running = await startSampleApp(platform);
  });
  afterAll(async () => {
    await running?.close();
  });

  const gql = (query: string, cookie?: string) => {
    const req = request(running.http).post('/graphql');
    if (cookie) req.set('Cookie', cookie);
    return req.send({ query });
  };

  it('me, login (rotating a pre-login session), me, logout, me again', async () => {
    const anonymous = await gql(ME);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.data).toEqual({ me: null });
    expect(anonymous.body.errors[0].extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'no_session',
    });

    // A visitor's session (GET / writes to it): the log-in must not keep its ID.
    const preLogin = cookiePair(await request(running.http).get('/'));

    const login = await gql(LOGIN('admin', 'admin-password'), preLogin);
    expect(login.body).toEqual({ data: { login: { userId: 'admin', roles: ['user', 'admin'] } } });
    const set = sessionCookie(login);
    expect(set?.cleared).toBe(false);
    const cookie = set!.pair;
    expect(idOf(cookie)).not.toBe(idOf(preLogin));

    const me = await gql(ME, cookie);
    expect(me.body).toEqual({ data: { me: { userId: 'admin', roles: ['user', 'admin'] } } });
    // The old ID stopped working at the log-in.
    expect((await gql(ME, preLogin)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const logout = await gql('mutation { logout }', cookie);
    expect(logout.body).toEqual({ data: { logout: true } });
    expect(sessionCookie(logout)?.cleared).toBe(true);

    const after = await gql(ME, cookie);
    expect(after.body.data).toEqual({ me: null });
    expect(after.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('login with a wrong password: UNAUTHENTICATED bad_credentials, no cookie', async () => {
    const refused = await gql(LOGIN('alice', 'wrong'));
    expect(refused.body.errors[0].extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'bad_credentials',
    });
    expect(sessionCookie(refused)).toBeUndefined();
  });

  it('a cross-site login (SameOriginGuard): FORBIDDEN, reason csrf, no cookie', async () => {
    const res = await request(running.http)
      .post('/graphql')
      .set('Origin', 'https://evil.example')
      .send({ query: LOGIN('alice', 'alice-password') });
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'csrf' });
    expect(sessionCookie(res)).toBeUndefined();
  });

  it('one session for REST and GraphQL: a POST /auth/login cookie works for me', async () => {
    const cookie = await logIn(running.http, 'alice');
    expect((await gql(ME, cookie)).body).toEqual({
      data: { me: { userId: 'alice', roles: ['user'] } },
    });
    const rest = await request(running.http).get('/me').set('Cookie', cookie);
    expect(rest.body).toMatchObject({ userId: 'alice' });
  });
});
