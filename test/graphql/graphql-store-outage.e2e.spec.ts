import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { MemoryStore } from '../../lib/index.js';
import type { SessionRecord } from '../../lib/stores/session-record.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { startTestApp, type RunningApp } from '../support/sample-app.harness.js';
import { requireEsmAsNodeDoes } from './native-require.js';

/**
 * A store outage in a GraphQL operation fails closed like an HTTP request
 * (DESIGN rule 9): a GraphQL error with `extensions.code`
 * `SERVICE_UNAVAILABLE` and `reason: 'store_unavailable'`, and Retry-After
 * on the response, never an anonymous pass.
 *
 * `@nestjs/apollo` relabels every HttpException it has no code for (all but
 * 400, 401, 403, 422) as INTERNAL_SERVER_ERROR with `extensions.status`,
 * over the code this module gives; `reason` survives. With Apollo's
 * `autoTransformHttpErrors: false` the code is this module's, as on Mercurius.
 */

await requireEsmAsNodeDoes('@fastify/static', 'content-disposition');
const { GRAPHQL_SETUPS, graphqlModuleFor, graphqlTestModule } =
  await import('./graphql-test-app.js');

/** A MemoryStore whose reads fail while `down` is set. */
class OutageStore extends MemoryStore {
  down = false;

  override async get(key: string): Promise<SessionRecord | null> {
    if (this.down) throw new Error('store unreachable (test outage)');
    return super.get(key);
  }
}

const SETUPS = [
  ...GRAPHQL_SETUPS.map((setup) => ({ ...setup, autoTransformHttpErrors: true })),
  {
    name: 'Apollo on Express, autoTransformHttpErrors: false',
    driver: 'apollo' as const,
    platform: 'express' as const,
    autoTransformHttpErrors: false,
  },
];

describe.each(SETUPS)('a store outage in a resolver ($name)', (setup) => {
  let running: RunningApp;
  const store = new OutageStore();
  const relabelled = setup.driver === 'apollo' && setup.autoTransformHttpErrors;

  beforeAll(async () => {
    const graphql = graphqlModuleFor(setup, {
      autoTransformHttpErrors: setup.autoTransformHttpErrors,
    });
    running = await startTestApp(setup.platform, graphqlTestModule(setup, store, graphql));
  });
  afterAll(async () => {
    store.down = false;
    await running?.close();
  });

  const gql = (query: string, cookie?: string) => {
    const req = request(running.http).post('/graphql');
    if (cookie) req.set('Cookie', cookie);
    return req.send({ query });
  };

  it('SessionGuard: reason store_unavailable, code SERVICE_UNAVAILABLE, Retry-After', async () => {
    const login = await gql('mutation { login(username: "alice", password: "pw") { userId } }');
    const cookie = setCookies(login)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
    store.down = true;
    try {
      const res = await gql('query { me { userId } }', cookie);
      expect(res.body.data).toEqual({ me: null });
      expect(res.body.errors[0].extensions).toMatchObject(
        relabelled
          ? { code: 'INTERNAL_SERVER_ERROR', status: 503, reason: 'store_unavailable' }
          : { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' },
      );
      expect(res.headers['retry-after']).toBe('2');
    } finally {
      store.down = false;
    }
  });
});
