import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Module, Post, Req, UseGuards } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import {
  CsrfGuard,
  RotateSession,
  SameOriginGuard,
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
  TokenService,
  type SessionEvent,
  type SessionModuleOptions,
  type TokenPair,
} from '../../lib/index.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { idOf, setCookies, parseSetCookie } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import {
  PLATFORMS,
  sleep,
  startTestApp,
  type Platform,
  type RunningApp,
} from '../support/sample-app.harness.js';

/**
 * Issue 11 item 1: `SessionService.events$` reports every lifecycle event
 * with its reason, the session's handle and user, and (when a request
 * caused it) the client's address and User-Agent; never a session ID or a
 * refresh token. Each app here is the spec's own (routes for every cause),
 * on Express and Fastify, on MemoryStore and on RedisStore; the outage
 * events on a redis-server that is killed and restarted. The Redis apps are
 * built here rather than by the 2-instance harness: an event is the
 * emitting instance's, and these tests want the events of one app.
 */

const SECRET = 'events-spec-session-secret-0123456789-abcdef';
const TOKENS = {
  secret: 'events-spec-token-secret-0123456789-abcdefgh',
  issuer: 'https://auth.events.test',
  audience: 'api.events.test',
  reuseGrace: '5s',
} as const;
/** The apps trust one proxy: the client address is the X-Forwarded-For entry each test sets. */
const TRUST_PROXY = 1;
const MAX_FAILURES = 3;
const IDLE_MS = 800;
const ABSOLUTE_MS = 1_600;
const RENEW_EVERY_MS = 400;

interface LoginBody {
  userId: string;
}
interface RefreshBody {
  refreshToken: string;
}

@Controller()
class EventsController {
  constructor(private readonly tokens: TokenService) {}

  @Get('views')
  views(@Session() session: Session) {
    const views = ((session.get('views') as number | undefined) ?? 0) + 1;
    session.set('views', views);
    return { views };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginBody, @Session() session: Session) {
    await session.logIn({ userId: body.userId, roles: ['user'] });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session() session: Session) {
    return { userId: session.userId, handle: session.handle };
  }

  @Post('promote')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  promote(@Session() session: Session) {
    session.setRoles([...session.roles, 'editor']);
    return { ok: true };
  }

  @Post('regenerate')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  async regenerate(@Session() session: Session) {
    await session.regenerate();
    return { ok: true };
  }

  @Post('rotate')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  @RotateSession()
  rotate() {
    return { ok: true };
  }

  /** As the sample's /auth/reauth marks a re-authentication (after checking the password). */
  @Post('reauth')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  async reauth(@Session() session: Session) {
    await session.reauthenticate();
    return { ok: true };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Session() session: Session) {
    await session.destroy();
    return { ok: true };
  }

  @Get('csrf')
  csrf(@Session() session: Session) {
    return { token: session.csrfToken };
  }

  @Post('transfer')
  @HttpCode(200)
  @UseGuards(SessionGuard, CsrfGuard)
  transfer() {
    return { ok: true };
  }

  @Post('open')
  @HttpCode(200)
  @UseGuards(SameOriginGuard)
  open() {
    return { ok: true };
  }

  @Post('tokens/login')
  @HttpCode(200)
  tokenLogin(@Body() body: LoginBody, @Req() request: object) {
    return this.tokens.logIn({ userId: body.userId, roles: ['user'] }, { request });
  }

  @Post('tokens/refresh')
  @HttpCode(200)
  tokenRefresh(@Body() body: RefreshBody, @Req() request: object) {
    return this.tokens.refresh(body.refreshToken, { request });
  }

  @Post('tokens/logout')
  @HttpCode(200)
  async tokenLogout(@Body() body: RefreshBody, @Req() request: object) {
    return { ended: await this.tokens.logOut(body.refreshToken, { request }) };
  }
}

function eventsModule(options: SessionModuleOptions): unknown {
  @Module({ imports: [SessionModule.forRoot(options)], controllers: [EventsController] })
  class EventsAppModule {}
  return EventsAppModule;
}

/** The three apps of a case: everything but time; timeouts; periodic renewal. */
type AppName = 'main' | 'timing' | 'renewal';

function optionsFor(name: AppName, store: SessionStore): SessionModuleOptions {
  const base: SessionModuleOptions = {
    secret: SECRET,
    store,
    bruteForce: { maxFailures: MAX_FAILURES, window: '1m', trustProxy: TRUST_PROXY },
  };
  if (name === 'main') return { ...base, bindTo: ['user-agent'], tokens: { ...TOKENS } };
  if (name === 'timing') {
    // No sweeper: these tests see `expired` where a request meets the ended session (the
    // sweeper's own events, without a request, are test/events/expiry-sweep.e2e.spec.ts's).
    return { ...base, idleTimeout: IDLE_MS, absoluteTimeout: ABSOLUTE_MS, expirySweep: false };
  }
  return { ...base, rotation: { every: RENEW_EVERY_MS, grace: 100 } };
}

/** A client of its own per test: its address (sent as X-Forwarded-For) and User-Agent. */
interface Client {
  ip: string;
  userAgent: string;
}
let clients = 0;
const newClient = (): Client => ({
  ip: `198.51.100.${++clients}`,
  userAgent: `events-spec/${clients} (${randomBytes(3).toString('hex')})`,
});

/** What an event caused by `client`'s request carries. */
const fromClient = (client: Client) => ({ ip: client.ip, userAgent: client.userAgent });

/** The events a test saw, by type and reason, e.g. `rotated:privilege`. */
const names = (events: SessionEvent[]) =>
  events.map((e) => (e.reason === undefined ? e.type : `${e.type}:${e.reason}`));

/**
 * One app and a way to call it as a client: every session ID a response
 * mints, and every refresh token, is remembered, so that `afterEach` can
 * prove no event carried one.
 */
class Caller {
  constructor(
    private readonly running: RunningApp,
    private readonly secrets: Set<string>,
  ) {}

  async call(
    client: Client,
    method: 'get' | 'post',
    path: string,
    options: { cookie?: string; body?: object; headers?: Record<string, string> } = {},
  ) {
    const agent = request(this.running.http);
    const req = (method === 'get' ? agent.get(path) : agent.post(path))
      .set('User-Agent', client.userAgent)
      .set('X-Forwarded-For', client.ip);
    if (options.cookie) req.set('Cookie', options.cookie);
    for (const [name, value] of Object.entries(options.headers ?? {})) req.set(name, value);
    const res = await (options.body ? req.send(options.body) : req);
    for (const raw of setCookies(res)) {
      const cookie = parseSetCookie(raw);
      if (cookie.name === 'sid' && !cookie.cleared) this.secrets.add(idOf(cookie.value));
    }
    const body = res.body as Partial<TokenPair> | undefined;
    if (typeof body?.refreshToken === 'string') {
      // The part after the family handle is the secret (the handle is public, in events too).
      this.secrets.add(body.refreshToken.split('.')[1]);
      this.secrets.add(body.refreshToken);
    }
    return res;
  }

  /** The `sid=...` pair a response set, the same cookie when it set none. */
  static cookieAfter(res: { headers: Record<string, unknown> }, before?: string): string {
    const set = setCookies(res as never)
      .map(parseSetCookie)
      .filter((c) => c.name === 'sid' && !c.cleared)
      .at(-1);
    if (set) return set.pair;
    if (before === undefined) throw new Error('expected a session cookie');
    return before;
  }

  async logIn(client: Client, userId: string, cookie?: string): Promise<string> {
    const res = await this.call(client, 'post', '/login', { cookie, body: { userId } });
    expect(res.status).toBe(200);
    return Caller.cookieAfter(res);
  }
}

let users = 0;
const newUser = () => `user-${++users}`;

type StoreKind = 'memory' | 'redis';
const CASES: [Platform, StoreKind][] = PLATFORMS.flatMap((platform) =>
  (['memory', 'redis'] as const).map((store): [Platform, StoreKind] => [platform, store]),
);

/** The file's redis-server for the Redis cases (not the one the outage describe kills). */
let sharedRedis: Promise<RedisServer> | undefined;
let prefixes = 0;

afterAll(async () => {
  await (await sharedRedis)?.stop();
});

describe.each(CASES)('session events (%s, %s store)', (platform, storeKind) => {
  const apps = {} as Record<AppName, RunningApp>;
  const callers = {} as Record<AppName, Caller>;
  const subscriptions: Subscription[] = [];
  const events: SessionEvent[] = [];
  const secrets = new Set<string>();

  beforeAll(async () => {
    for (const name of ['main', 'timing', 'renewal'] as const) {
      let store: SessionStore = new MemoryStore();
      if (storeKind === 'redis') {
        sharedRedis ??= startRedis();
        const { url } = await sharedRedis;
        store = new RedisStore({ url, prefix: `ev${++prefixes}:` });
      }
      apps[name] = await startTestApp(platform, eventsModule(optionsFor(name, store)));
      callers[name] = new Caller(apps[name], secrets);
      subscriptions.push(
        apps[name].app.get(SessionService).events$.subscribe((e) => events.push(e)),
      );
    }
  });
  afterAll(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    for (const running of Object.values(apps)) await running?.close();
  });
  beforeEach(() => {
    events.length = 0;
    secrets.clear();
  });
  afterEach(() => {
    // No event may carry a session ID or a refresh token, whatever the test did.
    const text = JSON.stringify(events);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  const service = () => apps.main.app.get(SessionService);

  it('every event has a type, a kind and an epoch-ms time', async () => {
    const client = newClient();
    await callers.main.call(client, 'get', '/views');
    expect(events).toHaveLength(1);
    expect(events[0].at).toBeGreaterThan(Date.now() - 10_000);
    expect(events[0].at).toBeLessThanOrEqual(Date.now());
    expect(events[0].kind).toBe('cookie');
  });

  it('created: a first write (no reason), and created "login" when a log-in creates the session', async () => {
    const client = newClient();
    const res = await callers.main.call(client, 'get', '/views');
    expect(res.status).toBe(200);
    expect(events).toEqual([
      {
        type: 'created',
        kind: 'cookie',
        handle: expect.any(String),
        at: expect.any(Number),
        ...fromClient(client),
      },
    ]);
    expect(events[0].userId).toBeUndefined();
    expect(events[0].reason).toBeUndefined();
    // Reading it again writes nothing new: no event.
    await callers.main.call(client, 'get', '/me', { cookie: Caller.cookieAfter(res) });
    expect(events).toHaveLength(1);

    events.length = 0;
    const other = newClient();
    const user = newUser();
    await callers.main.logIn(other, user);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'created',
        reason: 'login',
        kind: 'cookie',
        userId: user,
        handle: expect.any(String),
        ...fromClient(other),
      }),
    ]);
  });

  it('rotated "login": a log-in that replaces an existing session (a new handle)', async () => {
    const client = newClient();
    const anonymous = Caller.cookieAfter(await callers.main.call(client, 'get', '/views'));
    const before = events[0].handle;
    events.length = 0;
    const user = newUser();
    await callers.main.logIn(client, user, anonymous);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'rotated',
        reason: 'login',
        kind: 'cookie',
        userId: user,
        ...fromClient(client),
      }),
    ]);
    expect(events[0].handle).toEqual(expect.any(String));
    expect(events[0].handle).not.toBe(before);
  });

  it.each([
    ['privilege', '/promote'],
    ['route', '/regenerate'],
    ['route', '/rotate'],
    ['reauth', '/reauth'],
  ])('rotated "%s" (POST %s): same handle, the request\'s metadata', async (cause, path) => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.main.logIn(client, user);
    const handle = events[0].handle;
    events.length = 0;
    const res = await callers.main.call(client, 'post', path, { cookie });
    expect(res.status).toBe(200);
    expect(idOf(Caller.cookieAfter(res))).not.toBe(idOf(cookie));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'rotated',
        reason: cause,
        kind: 'cookie',
        handle,
        userId: user,
        ...fromClient(client),
      }),
    ]);
  });

  it('rotated "renewal": periodic rotation (rotation.every)', async () => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.renewal.logIn(client, user);
    const handle = events[0].handle;
    events.length = 0;
    await sleep(RENEW_EVERY_MS + 100);
    const res = await callers.renewal.call(client, 'get', '/me', { cookie });
    expect(res.status).toBe(200);
    expect(idOf(Caller.cookieAfter(res))).not.toBe(idOf(cookie));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'rotated',
        reason: 'renewal',
        handle,
        userId: user,
        ...fromClient(client),
      }),
    ]);
  });

  it('destroyed "logout": destroy()', async () => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.main.logIn(client, user);
    const handle = events[0].handle;
    events.length = 0;
    expect((await callers.main.call(client, 'post', '/logout', { cookie })).status).toBe(200);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'destroyed',
        reason: 'logout',
        kind: 'cookie',
        handle,
        userId: user,
        ...fromClient(client),
      }),
    ]);
  });

  it('destroyed "revoked": SessionService.revoke(), then no rejection when the revoked cookie comes back', async () => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.main.logIn(client, user);
    const handle = events[0].handle!;
    events.length = 0;
    expect(await service().revoke(user, handle)).toBe(true);
    // Code outside a request: no request metadata.
    expect(events).toEqual([
      {
        type: 'destroyed',
        reason: 'revoked',
        kind: 'cookie',
        handle,
        userId: user,
        at: expect.any(Number),
        createdAt: expect.any(Number),
      },
    ]);
    events.length = 0;
    const res = await callers.main.call(client, 'get', '/me', { cookie });
    expect(res.body.reason).toBe('revoked');
    // Revocation was reported when it happened; its later requests are not "rejected".
    expect(events).toEqual([]);
  });

  it('destroyed "revoked": revokeAllForUser() ends cookie sessions and token families, each reported with its kind', async () => {
    const client = newClient();
    const user = newUser();
    await callers.main.logIn(client, user);
    const cookieHandle = events[0].handle;
    const tokens = await callers.main.call(client, 'post', '/tokens/login', {
      body: { userId: user },
    });
    const family = (tokens.body as TokenPair).family;
    events.length = 0;
    expect(await service().revokeAllForUser(user)).toBe(2);
    expect(events).toHaveLength(2);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'destroyed',
          reason: 'revoked',
          kind: 'cookie',
          handle: cookieHandle,
        }),
        expect.objectContaining({
          type: 'destroyed',
          reason: 'revoked',
          kind: 'token',
          handle: family,
        }),
      ]),
    );
  });

  it('rejected "binding", then destroyed "revoked": the cookie from another User-Agent', async () => {
    const owner = newClient();
    const thief = newClient();
    const user = newUser();
    const cookie = await callers.main.logIn(owner, user);
    const handle = events[0].handle;
    events.length = 0;
    const res = await callers.main.call(thief, 'get', '/me', { cookie });
    expect(res.status).toBe(401);
    expect(names(events)).toEqual(['rejected:binding', 'destroyed:revoked']);
    for (const event of events) {
      expect(event).toMatchObject({ kind: 'cookie', handle, userId: user, ...fromClient(thief) });
    }
  });

  it('expired "idle": the first request after the idle timeout', async () => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.timing.logIn(client, user);
    const handle = events[0].handle;
    events.length = 0;
    await sleep(IDLE_MS + 150);
    const res = await callers.timing.call(client, 'get', '/me', { cookie });
    expect(res.body.reason).toBe('idle_timeout');
    expect(events).toEqual([
      expect.objectContaining({
        type: 'expired',
        reason: 'idle',
        kind: 'cookie',
        handle,
        userId: user,
        ...fromClient(client),
      }),
    ]);
  });

  it('expired "absolute": an active session past the absolute timeout', async () => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.timing.logIn(client, user);
    const handle = events[0].handle;
    let res;
    // Active all along (never idle for long), so only the absolute timeout can end it.
    do {
      await sleep(IDLE_MS / 4);
      res = await callers.timing.call(client, 'get', '/me', { cookie });
    } while (res.status === 200);
    expect(res.body.reason).toBe('absolute_timeout');
    expect(events.filter((e) => e.type === 'expired')).toEqual([
      expect.objectContaining({
        reason: 'absolute',
        kind: 'cookie',
        handle,
        userId: user,
        ...fromClient(client),
      }),
    ]);
  });

  it('rejected "bad_signature": a cookie signed with another key, and a malformed one', async () => {
    const client = newClient();
    const forged = `sid=${new CookieSigner(['another-secret-0123456789-abcdefghijklmnop']).sign(
      randomBytes(32).toString('base64url'),
    )}`;
    secrets.add(idOf(forged));
    for (const cookie of [forged, 'sid=not-even-a-signed-id']) {
      expect((await callers.main.call(client, 'get', '/me', { cookie })).status).toBe(401);
    }
    expect(events).toEqual([
      expect.objectContaining({
        type: 'rejected',
        reason: 'bad_signature',
        kind: 'cookie',
        ...fromClient(client),
      }),
      expect.objectContaining({
        type: 'rejected',
        reason: 'bad_signature',
        kind: 'cookie',
        ...fromClient(client),
      }),
    ]);
    expect(events[0].handle).toBeUndefined();
  });

  it('rejected "unknown": a well-signed ID the store does not hold, and an ID rotated away', async () => {
    const client = newClient();
    const unknown = `sid=${new CookieSigner([SECRET]).sign(randomBytes(32).toString('base64url'))}`;
    secrets.add(idOf(unknown));
    expect((await callers.main.call(client, 'get', '/me', { cookie: unknown })).status).toBe(401);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'rejected',
        reason: 'unknown',
        kind: 'cookie',
        ...fromClient(client),
      }),
    ]);

    const old = await callers.main.logIn(client, newUser());
    await callers.main.call(client, 'post', '/promote', { cookie: old });
    events.length = 0;
    expect((await callers.main.call(client, 'get', '/me', { cookie: old })).status).toBe(401);
    expect(names(events)).toEqual(['rejected:unknown']);
  });

  it('rejected "csrf": CsrfGuard (no token; a foreign Origin) and SameOriginGuard (cross-site)', async () => {
    const client = newClient();
    const user = newUser();
    const cookie = await callers.main.logIn(client, user);
    const handle = events[0].handle;
    const token = (await callers.main.call(client, 'get', '/csrf', { cookie })).body
      .token as string;
    events.length = 0;

    const noToken = await callers.main.call(client, 'post', '/transfer', { cookie });
    expect(noToken.status).toBe(403);
    const foreign = await callers.main.call(client, 'post', '/transfer', {
      cookie,
      headers: { Origin: 'https://evil.example', 'x-csrf-token': token },
    });
    expect(foreign.status).toBe(403);
    const crossSite = await callers.main.call(client, 'post', '/open', {
      headers: { 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    // The control: a good token passes, and reports nothing.
    const ok = await callers.main.call(client, 'post', '/transfer', {
      cookie,
      headers: { 'x-csrf-token': token },
    });
    expect(ok.status).toBe(200);

    expect(names(events)).toEqual(['rejected:csrf', 'rejected:csrf', 'rejected:csrf']);
    for (const event of events)
      expect(event).toMatchObject({ kind: 'cookie', ...fromClient(client) });
    // The session is named when the request had loaded it (SessionGuard ran first).
    expect(events[0]).toMatchObject({ handle, userId: user });
    expect(events[1]).toMatchObject({ handle, userId: user });
    expect(events[2].handle).toBeUndefined();
  });

  it('rejected "brute_force": once per client and window, when it goes past the limit', async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES + 3; i++) {
      const cookie = `sid=${randomBytes(16).toString('hex')}`;
      statuses.push((await callers.main.call(client, 'get', '/me', { cookie })).status);
    }
    expect(statuses).toEqual([...Array(MAX_FAILURES).fill(401), 429, 429, 429]);
    const tripped = events.filter((e) => e.type === 'rejected' && e.reason === 'brute_force');
    expect(tripped).toEqual([expect.objectContaining({ kind: 'cookie', ...fromClient(client) })]);
    // Every one of them was a bad cookie too.
    expect(events.filter((e) => e.reason === 'bad_signature')).toHaveLength(MAX_FAILURES + 3);
  });

  it('token events: token_issued, token_refreshed (and "grace"), refresh_reused then destroyed "reuse"', async () => {
    const client = newClient();
    const user = newUser();
    const first = (
      await callers.main.call(client, 'post', '/tokens/login', { body: { userId: user } })
    ).body as TokenPair;
    const family = first.family;
    const second = (
      await callers.main.call(client, 'post', '/tokens/refresh', {
        body: { refreshToken: first.refreshToken },
      })
    ).body as TokenPair;
    // A retry of the same refresh within reuseGrace: answered with the same successor.
    const retried = (
      await callers.main.call(client, 'post', '/tokens/refresh', {
        body: { refreshToken: first.refreshToken },
      })
    ).body as TokenPair;
    expect(retried.refreshToken).toBe(second.refreshToken);
    const third = await callers.main.call(client, 'post', '/tokens/refresh', {
      body: { refreshToken: second.refreshToken },
    });
    expect(third.status).toBe(200);
    // Two generations back: no grace reaches it, a copied token.
    const reused = await callers.main.call(client, 'post', '/tokens/refresh', {
      body: { refreshToken: first.refreshToken },
    });
    expect(reused.body.reason).toBe('refresh_reused');
    expect(names(events)).toEqual([
      'token_issued',
      'token_refreshed',
      'token_refreshed:grace',
      'token_refreshed',
      'refresh_reused',
      'destroyed:reuse',
    ]);
    // The routes pass their request: each event carries the client, as cookie sessions' do.
    for (const event of events) {
      expect(event).toMatchObject({
        kind: 'token',
        handle: family,
        userId: user,
        ...fromClient(client),
      });
    }
  });

  it('destroyed "logout" of a token family: TokenService.logOut (no refresh reported for it)', async () => {
    const client = newClient();
    const user = newUser();
    const pair = (
      await callers.main.call(client, 'post', '/tokens/login', { body: { userId: user } })
    ).body as TokenPair;
    events.length = 0;
    const res = await callers.main.call(client, 'post', '/tokens/logout', {
      body: { refreshToken: pair.refreshToken },
    });
    expect(res.body).toEqual({ ended: true });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'destroyed',
        reason: 'logout',
        kind: 'token',
        handle: pair.family,
        userId: user,
        ...fromClient(client),
      }),
    ]);
  });

  it('events narrow by type: a listener reads each reason with its own type', () => {
    const reasonOf = (event: SessionEvent): string => {
      switch (event.type) {
        case 'expired':
          return event.reason satisfies 'idle' | 'absolute';
        case 'rejected':
          return event.reason;
        case 'store_error':
          return event.operation ?? '';
        default:
          return event.reason ?? '';
      }
    };
    expect(reasonOf({ type: 'expired', reason: 'idle', kind: 'cookie', at: 0 })).toBe('idle');
  });
});

/**
 * store_error / store_recovered on a real redis-server that is killed and
 * restarted: once per outage (not per request), with the failing operation
 * and the request that met it.
 */
describe.each(PLATFORMS)('store outage events (%s, RedisStore)', (platform) => {
  let redis: RedisServer;
  let running: RunningApp;
  let caller: Caller;
  const events: SessionEvent[] = [];
  const secrets = new Set<string>();
  let subscription: Subscription;

  beforeAll(async () => {
    redis = await startRedis();
    const store = new RedisStore({ url: redis.url, operationTimeoutMs: 500 });
    // No expiry sweeps: a sweep's claim could be the outage's first failed call (these
    // tests name the request's operation).
    const options = { ...optionsFor('main', store), expirySweep: false as const };
    running = await startTestApp(platform, eventsModule(options));
    caller = new Caller(running, secrets);
    subscription = running.app.get(SessionService).events$.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    subscription?.unsubscribe();
    await running?.close();
    await redis?.stop();
  });

  it('store_error once per outage (operation, kind, request metadata), store_recovered when it answers again', async () => {
    const client = newClient();
    const cookie = await caller.logIn(client, newUser());
    events.length = 0;

    await redis.kill();
    for (let i = 0; i < 3; i++) {
      const res = await caller.call(client, 'get', '/me', { cookie });
      expect(res.status).toBe(503);
    }
    expect(events).toEqual([
      {
        type: 'store_error',
        operation: 'get',
        kind: 'cookie',
        at: expect.any(Number),
        ...fromClient(client),
      },
    ]);

    await redis.restart(); // empty: the session is gone, which is not the point here
    let status = 503;
    for (let tries = 0; status === 503 && tries < 100; tries++) {
      await sleep(100);
      status = (await caller.call(client, 'get', '/me', { cookie })).status;
    }
    expect(status).toBe(401);
    expect(names(events)).toEqual(['store_error', 'store_recovered', 'rejected:unknown']);
    expect(events[1]).toMatchObject({ kind: 'cookie', ...fromClient(client) });
    const text = JSON.stringify(events);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
