import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { MemoryStore, TokenService } from '../../lib/index.js';
import type { SessionRecord } from '../../lib/stores/session-record.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { startTestApp, type RunningApp } from '../support/sample-app.harness.js';
import { requireEsmAsNodeDoes } from '../support/native-require.js';

/**
 * A store outage in a GraphQL operation fails closed like an HTTP request
 * (DESIGN rule 9): a GraphQL error with `extensions.code`
 * `SERVICE_UNAVAILABLE` and `reason: 'store_unavailable'`, and Retry-After
 * on the response, never an anonymous pass.
 *
 * The same for every way a resolver reaches the session: `SessionGuard`,
 * `@Session()` or `getSession()` with no guard in front (the load fails as
 * the resolver's arguments are resolved), and `AccessTokenGuard` with
 * revocation `'strict'` (its family lookup fails).
 *
 * `@nestjs/apollo` relabels every HttpException it has no code for (all but
 * 400, 401, 403, 422) as INTERNAL_SERVER_ERROR with `extensions.status`; the
 * error a resolver sees is not one (SessionGraphQLError), so the code is this
 * module's on Apollo's default `autoTransformHttpErrors` and with it off alike.
 */

await requireEsmAsNodeDoes('@fastify/static', 'content-disposition');
const { GRAPHQL_SETUPS, graphqlModuleFor, graphqlTestModule } =
  await import('./graphql-test-app.js');

/** A MemoryStore whose reads fail while `down` is set, and whose deletes while `deletesDown` is. */
class OutageStore extends MemoryStore {
  down = false;
  deletesDown = false;

  override async destroy(key: string): Promise<void> {
    if (this.deletesDown) throw new Error('store unreachable (test outage)');
    return super.destroy(key);
  }

  override async get(key: string): Promise<SessionRecord | null> {
    if (this.down) throw new Error('store unreachable (test outage)');
    return super.get(key);
  }

  /** The read `AccessTokenGuard` makes (revocation 'strict'). */
  override async peek(key: string): Promise<SessionRecord | null> {
    if (this.down) throw new Error('store unreachable (test outage)');
    return super.peek(key);
  }
}

/** Never INTERNAL_SERVER_ERROR: the code a client can switch on, and the reason. */
const OUTAGE = { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' };

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
      expect(res.body.errors[0].extensions).toMatchObject(OUTAGE);
      expect(res.headers['retry-after']).toBe('2');
    } finally {
      store.down = false;
    }
  });

  async function loggedInCookie(): Promise<string> {
    const login = await gql('mutation { login(username: "alice", password: "pw") { userId } }');
    return setCookies(login)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
  }

  it.each([
    ['@Session()', 'query { csrfToken }'],
    ['getSession() in a custom decorator', 'query { whoami }'],
  ])('%s with no guard: the same error, never an anonymous pass', async (_name, query) => {
    const cookie = await loggedInCookie();
    store.down = true;
    try {
      const res = await gql(query, cookie);
      expect(res.status).toBe(200);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors[0].extensions).toMatchObject(OUTAGE);
      expect(res.body.errors[0].message).toBe('The session store is unavailable; retry shortly');
      expect(res.headers['retry-after']).toBe('2');
    } finally {
      store.down = false;
    }
  });

  it("the session's own calls in a resolver: destroy() in an outage is the same error", async () => {
    const cookie = await loggedInCookie();
    store.deletesDown = true;
    try {
      const res = await gql('mutation { logout }', cookie);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors[0].extensions).toMatchObject(OUTAGE);
      expect(res.headers['retry-after']).toBe('2');
    } finally {
      store.deletesDown = false;
    }
    // and the session lives on: the logout did not happen
    expect((await gql('query { me { userId } }', cookie)).body.data).toEqual({
      me: { userId: 'alice' },
    });
  });

  it('AccessTokenGuard (revocation strict): reason store_unavailable', async () => {
    const { accessToken } = await running.app.get(TokenService).logIn({ userId: 'alice' });
    store.down = true;
    try {
      const res = await request(running.http)
        .post('/graphql')
        .set('Authorization', `Bearer ${accessToken}`)
        .send({ query: 'query { tokenMe { userId } }' });
      expect(res.body.data).toEqual({ tokenMe: null });
      expect(res.body.errors[0].extensions).toMatchObject(OUTAGE);
    } finally {
      store.down = false;
    }
  });
});
