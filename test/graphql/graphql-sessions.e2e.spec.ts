import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CSRF_HEADER, TokenService } from '../../lib/index.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { idOf, parseSetCookie, setCookies } from '../support/cookies.js';
import { CountingStore } from '../support/counting.store.js';
import { fileLog } from '../support/log-capture.js';
import { startTestApp, type RunningApp } from '../support/sample-app.harness.js';
import { requireEsmAsNodeDoes } from '../support/native-require.js';

/**
 * Issue 12 item 1: sessions in GraphQL resolvers. `@Session()`,
 * `getSession()`, `SessionGuard`, `@RequireSession()`, `@RotateSession()`
 * and `CsrfGuard` on queries and mutations, on Apollo (Express and Fastify)
 * and Mercurius (Fastify): the session commits before the GraphQL response
 * goes out, and refusals are GraphQL errors with `extensions.code` and
 * `extensions.reason`. Then `SameOriginGuard` and `AccessTokenGuard`
 * (with `@AccessToken()`) on the same resolvers.
 */

await requireEsmAsNodeDoes('@fastify/static', 'content-disposition');
// Loaded after the line above, which must come before mercurius loads.
const { GRAPHQL_SETUPS, graphqlModuleFor, graphqlTestModule } =
  await import('./graphql-test-app.js');

interface GraphQLError {
  message: string;
  extensions?: { code?: string; reason?: string };
}

const cookieOf = (res: request.Response) =>
  setCookies(res)
    .map(parseSetCookie)
    .find((c) => c.name === 'sid');

describe.each(GRAPHQL_SETUPS)('sessions in GraphQL resolvers ($name)', (setup) => {
  let running: RunningApp;
  // Slow writes: a commit the response did not wait for is missing from the store.
  const store = new CountingStore({ writeDelayMs: 30 });

  beforeAll(async () => {
    running = await startTestApp(setup.platform, graphqlTestModule(setup, store));
  });
  afterAll(async () => {
    await running?.close();
  });

  function gql(query: string, cookie?: string, headers: Record<string, string> = {}) {
    const req = request(running.http).post('/graphql').set(headers);
    if (cookie) req.set('Cookie', cookie);
    return req.send({ query });
  }

  const errorsOf = (res: request.Response): GraphQLError[] => res.body.errors ?? [];

  async function logIn(username = 'alice', cookie?: string): Promise<string> {
    const res = await gql(
      `mutation { login(username: "${username}", password: "pw") { userId roles } }`,
      cookie,
    );
    expect(errorsOf(res)).toEqual([]);
    const set = cookieOf(res);
    expect(set?.cleared).toBe(false);
    return set!.pair;
  }

  it('query me without a session: UNAUTHENTICATED, reason no_session', async () => {
    const res = await gql('query { me { userId roles } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ me: null });
    expect(errorsOf(res)).toHaveLength(1);
    expect(errorsOf(res)[0].extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'no_session',
    });
  });

  it('mutation login sets the cookie, rotating a pre-login one; me then works with it', async () => {
    const visit = await gql('mutation { visit }');
    const before = cookieOf(visit)!.pair;
    const after = await logIn('alice', before);
    expect(idOf(after)).not.toBe(idOf(before));
    const me = await gql('query { me { userId roles } }', after);
    expect(me.body).toEqual({ data: { me: { userId: 'alice', roles: ['user'] } } });
    // the pre-login cookie stopped working at once
    const stale = await gql('query { me { userId } }', before);
    expect(errorsOf(stale)[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('getSession() in a custom decorator: the user, or null without a session', async () => {
    expect((await gql('query { whoami }')).body).toEqual({ data: { whoami: null } });
    const cookie = await logIn('alice');
    expect((await gql('query { whoami }', cookie)).body).toEqual({ data: { whoami: 'alice' } });
  });

  it('@RequireSession({ roles }): FORBIDDEN without the role, the field with it', async () => {
    const alice = await logIn('alice');
    const refused = await gql('query { adminReport }', alice);
    expect(refused.body.data).toEqual({ adminReport: null });
    expect(errorsOf(refused)[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'forbidden',
    });
    const admin = await logIn('admin');
    expect((await gql('query { adminReport }', admin)).body).toEqual({
      data: { adminReport: 'for admins' },
    });
  });

  it('@RotateSession() on a mutation: a new cookie, the old one no longer works', async () => {
    const cookie = await logIn('alice');
    const res = await gql('mutation { rotate }', cookie);
    expect(res.body).toEqual({ data: { rotate: true } });
    const rotated = cookieOf(res)!;
    expect(rotated.cleared).toBe(false);
    expect(idOf(rotated.pair)).not.toBe(idOf(cookie));
    expect((await gql('query { me { userId } }', rotated.pair)).body.data).toEqual({
      me: { userId: 'alice' },
    });
    expect(errorsOf(await gql('query { me { userId } }', cookie))[0].extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('@RotateSession() on a mutation refused by its guard: no rotation, no cookie', async () => {
    const res = await gql('mutation { rotate }');
    expect(errorsOf(res)[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(cookieOf(res)).toBeUndefined();
  });

  it('@RotateSession() on a mutation whose resolver fails (HTTP 200): no rotation', async () => {
    const cookie = await logIn('alice');
    const res = await gql('mutation { rotateThenFail }', cookie);
    expect(res.status).toBe(200);
    expect(res.body.errors[0].message).toBe('the resolver failed');
    expect(cookieOf(res)).toBeUndefined();
    expect((await gql('query { me { userId } }', cookie)).body.data).toEqual({
      me: { userId: 'alice' },
    });
  });

  it('CsrfGuard on a mutation: FORBIDDEN reason csrf without the token, ok with it', async () => {
    const cookie = await logIn('alice');
    const refused = await gql('mutation { transfer(amount: 5) }', cookie);
    expect(refused.body.data).toEqual({ transfer: null });
    expect(errorsOf(refused)[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'csrf' });
    const wrong = await gql('mutation { transfer(amount: 5) }', cookie, { [CSRF_HEADER]: 'nope' });
    expect(errorsOf(wrong)[0].extensions?.reason).toBe('csrf');
    const token = (await gql('query { csrfToken }', cookie)).body.data.csrfToken as string;
    const ok = await gql('mutation { transfer(amount: 5) }', cookie, { [CSRF_HEADER]: token });
    expect(ok.body).toEqual({ data: { transfer: 5 } });
  });

  it('CsrfGuard refuses a cross-site mutation before it looks at the token', async () => {
    const cookie = await logIn('alice');
    const token = (await gql('query { csrfToken }', cookie)).body.data.csrfToken as string;
    const res = await gql('mutation { transfer(amount: 5) }', cookie, {
      [CSRF_HEADER]: token,
      'Sec-Fetch-Site': 'cross-site',
    });
    expect(errorsOf(res)[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'csrf' });
  });

  it('mutation logout clears the cookie; the old cookie then gets UNAUTHENTICATED', async () => {
    const cookie = await logIn('alice');
    const res = await gql('mutation { logout }', cookie);
    expect(res.body).toEqual({ data: { logout: true } });
    expect(cookieOf(res)?.cleared).toBe(true);
    const after = await gql('query { me { userId } }', cookie);
    expect(after.body.data).toEqual({ me: null });
    expect(errorsOf(after)[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a session write in a resolver is in the store when the response arrives', async () => {
    const cookie = await logIn('alice');
    const res = await gql('mutation { remember(note: "written-before-the-answer") }', cookie);
    expect(res.body).toEqual({ data: { remember: true } });
    // read at once: the store write (delayed 30 ms) happened before the response went out
    const record = await store.inner.get(sessionStoreKey(idOf(cookie)));
    expect(record?.data.note).toBe(JSON.stringify('written-before-the-answer'));
  });

  it('the login cookie is set by the response that logs in, with the log-in stored already', async () => {
    const cookie = await logIn('alice');
    const record = await store.inner.get(sessionStoreKey(idOf(cookie)));
    expect(record?.userId).toBe('alice');
  });

  it('a refusal is an expected outcome: Nest logs no error for it', async () => {
    const mark = fileLog.mark();
    const refusals = [
      gql('query { me { userId } }'),
      gql('mutation { sameOriginOnly }', undefined, { Origin: 'null' }),
      gql('query { tokenMe { userId } }'),
    ];
    for (const res of await Promise.all(refusals)) expect(errorsOf(res)).toHaveLength(1);
    expect(fileLog.since(mark).filter((line) => line.level === 'error')).toEqual([]);
  });

  describe('SameOriginGuard on a mutation', () => {
    const sameOriginOnly = (headers: Record<string, string>) =>
      gql('mutation { sameOriginOnly }', undefined, headers);

    it('refuses a cross-site one: FORBIDDEN, reason csrf, no session made', async () => {
      const crossSite: Record<string, string>[] = [
        { 'Sec-Fetch-Site': 'cross-site' },
        { Origin: 'null' },
      ];
      for (const headers of crossSite) {
        const res = await sameOriginOnly(headers);
        expect(res.status).toBe(200);
        expect(res.body.data).toEqual({ sameOriginOnly: null });
        expect(errorsOf(res)).toHaveLength(1);
        expect(errorsOf(res)[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'csrf' });
        expect(cookieOf(res)).toBeUndefined();
      }
    });

    it("lets the app's own origin through, and a request with neither header", async () => {
      const own = await sameOriginOnly({ Origin: running.http, 'Sec-Fetch-Site': 'same-origin' });
      expect(own.body).toEqual({ data: { sameOriginOnly: true } });
      expect((await sameOriginOnly({})).body).toEqual({ data: { sameOriginOnly: true } });
    });
  });

  describe('AccessTokenGuard and @AccessToken() on a query', () => {
    const tokenMe = (authorization?: string) =>
      gql(
        'query { tokenMe { userId roles } }',
        undefined,
        authorization === undefined ? {} : { Authorization: authorization },
      );

    async function refusal(authorization?: string) {
      const res = await tokenMe(authorization);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ tokenMe: null });
      expect(errorsOf(res)).toHaveLength(1);
      // The challenge header belongs to a 401; a GraphQL answer is 200 with the error inside.
      expect(res.headers['www-authenticate']).toBeUndefined();
      return errorsOf(res)[0].extensions;
    }

    it('a valid bearer token: the principal', async () => {
      const tokens = running.app.get(TokenService);
      const { accessToken } = await tokens.logIn({ userId: 'carol', roles: ['user'] });
      expect((await tokenMe(`Bearer ${accessToken}`)).body).toEqual({
        data: { tokenMe: { userId: 'carol', roles: ['user'] } },
      });
    });

    it('refusals: UNAUTHENTICATED with token_missing, token_invalid, token_revoked', async () => {
      expect(await refusal()).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'token_missing' });
      expect(await refusal('Bearer not.a.token')).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'token_invalid',
      });
      const tokens = running.app.get(TokenService);
      const { accessToken, refreshToken } = await tokens.logIn({ userId: 'dave' });
      await tokens.logOut(refreshToken);
      expect(await refusal(`Bearer ${accessToken}`)).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'token_revoked',
      });
    });
  });

  describe('the guessing defence (bruteForce maxFailures 2)', () => {
    let guarded: RunningApp;
    /** A cookie no secret of the app signed: one failure of the client's. */
    const forged = () =>
      `sid=${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

    beforeAll(async () => {
      const module = graphqlTestModule(setup, new CountingStore(), graphqlModuleFor(setup), {
        bruteForce: { maxFailures: 2 },
      });
      guarded = await startTestApp(setup.platform, module);
    });
    afterAll(async () => {
      await guarded?.close();
    });

    const post = (query: string) =>
      request(guarded.http).post('/graphql').set('Cookie', forged()).send({ query });

    it('SessionGuard past the limit: TOO_MANY_REQUESTS, reason too_many_invalid_sessions', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await post('query { me { userId } }');
        expect(errorsOf(res)[0].extensions).toMatchObject({ reason: 'no_session' });
      }
      const blocked = await post('query { me { userId } }');
      expect(blocked.status).toBe(200);
      expect(blocked.body.data).toEqual({ me: null });
      expect(errorsOf(blocked)).toHaveLength(1);
      expect(errorsOf(blocked)[0].extensions).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        reason: 'too_many_invalid_sessions',
      });
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Without a guard nothing needs a session: the resolver runs on a fresh one, as a route does.
      const open = await post('query { whoami }');
      expect(open.body).toEqual({ data: { whoami: null } });
    });
  });
});
