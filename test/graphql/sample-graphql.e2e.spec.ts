import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import request from 'supertest';
import { MemoryStore, SessionModule } from '../../lib/index.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';
import { requireEsmAsNodeDoes } from './native-require.js';

/**
 * The sample's GraphQL module (sample/graphql.module.ts): Apollo on
 * Express, Mercurius on Fastify, `me`, `login` and `logout` on the session.
 */

await requireEsmAsNodeDoes('@fastify/static', 'content-disposition');
const { GraphQLSampleModule } = await import('../../sample/graphql.module.js');

const SECRET = 'sample-graphql-spec-secret-0123456789-abcd';

const sidOf = (res: request.Response) =>
  setCookies(res)
    .map(parseSetCookie)
    .find((c) => c.name === 'sid');

describe.each(PLATFORMS)('the sample GraphQL module (%s)', (platform) => {
  let running: RunningApp;

  beforeAll(async () => {
    @Module({
      imports: [
        SessionModule.forRoot({ secret: SECRET, store: new MemoryStore(), expirySweep: false }),
        GraphQLSampleModule.forPlatform(platform),
      ],
    })
    class SampleWithGraphQLModule {}
    running = await startTestApp(platform, SampleWithGraphQLModule);
  });
  afterAll(async () => {
    await running?.close();
  });

  const gql = (query: string, cookie?: string) => {
    const req = request(running.http).post('/graphql');
    if (cookie) req.set('Cookie', cookie);
    return req.send({ query });
  };

  it('me, login, me, logout, me: the whole session over POST /graphql', async () => {
    const anonymous = await gql('query { me { userId roles } }');
    expect(anonymous.body.data).toEqual({ me: null });
    expect(anonymous.body.errors[0].extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'no_session',
    });

    const refused = await gql(
      'mutation { login(username: "alice", password: "wrong") { userId roles } }',
    );
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(sidOf(refused)).toBeUndefined();

    const login = await gql(
      'mutation { login(username: "admin", password: "admin-password") { userId roles } }',
    );
    expect(login.body).toEqual({ data: { login: { userId: 'admin', roles: ['user', 'admin'] } } });
    const cookie = sidOf(login)!.pair;

    const me = await gql('query { me { userId roles } }', cookie);
    expect(me.body).toEqual({ data: { me: { userId: 'admin', roles: ['user', 'admin'] } } });

    const logout = await gql('mutation { logout }', cookie);
    expect(logout.body).toEqual({ data: { logout: true } });
    expect(sidOf(logout)?.cleared).toBe(true);

    const after = await gql('query { me { userId } }', cookie);
    expect(after.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
