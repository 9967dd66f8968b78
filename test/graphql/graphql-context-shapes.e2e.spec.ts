import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import request from 'supertest';
import { MemoryStore } from '../../lib/index.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { startTestApp, type RunningApp } from '../support/sample-app.harness.js';
import { requireEsmAsNodeDoes } from '../support/native-require.js';

/**
 * The GraphQL context shapes sessions are found in, beyond each driver's
 * default (graphql-sessions.e2e.spec.ts): Apollo on Express with the
 * `{ req, res }` context its docs show, and the clear error for a context
 * with no response (Apollo on Fastify left at its default `{ req }`).
 */

await requireEsmAsNodeDoes('@fastify/static', 'content-disposition');
const { graphqlTestModule } = await import('./graphql-test-app.js');

const LOGIN = 'mutation { login(username: "alice", password: "pw") { userId } }';

function gql(http: string, query: string, cookie?: string) {
  const req = request(http).post('/graphql');
  if (cookie) req.set('Cookie', cookie);
  return req.send({ query });
}

describe('Apollo on Express with context: ({ req, res }) => ({ req, res })', () => {
  let running: RunningApp;

  beforeAll(async () => {
    const graphql = GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
    });
    const setup = { name: 'Apollo on Express', driver: 'apollo', platform: 'express' } as const;
    running = await startTestApp('express', graphqlTestModule(setup, new MemoryStore(), graphql));
  });
  afterAll(async () => {
    await running?.close();
  });

  it('logs in and reads the session back', async () => {
    const login = await gql(running.http, LOGIN);
    expect(login.body).toEqual({ data: { login: { userId: 'alice' } } });
    const cookie = setCookies(login)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
    const me = await gql(running.http, 'query { me { userId } }', cookie);
    expect(me.body).toEqual({ data: { me: { userId: 'alice' } } });
  });
});

describe('Apollo on Fastify with its default context { req } (no reply)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    const graphql = GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
    });
    const setup = { name: 'Apollo on Fastify', driver: 'apollo', platform: 'fastify' } as const;
    running = await startTestApp('fastify', graphqlTestModule(setup, new MemoryStore(), graphql));
  });
  afterAll(async () => {
    await running?.close();
  });

  it('a resolver that needs the session fails with an error naming the context to pass', async () => {
    const res = await gql(running.http, LOGIN);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].message).toContain(
      'context: (request, reply) => ({ req: request, reply })',
    );
    expect(setCookies(res)).toEqual([]);
  });
});
