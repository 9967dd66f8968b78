import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import {
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
  TokenService,
  type SessionEvent,
  type SessionStore,
} from '../../lib/index.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import {
  PLATFORMS,
  startTestApp,
  type Platform,
  type RunningApp,
} from '../support/sample-app.harness.js';

/**
 * Issue 11 item 1: `destroyed` with reason `limit` for each session (or
 * token family) the store's per-user cap revoked when the user logged in
 * once more, with the log-in request's metadata; the session it names is
 * then refused as `revoked`. On Express and Fastify, MemoryStore and
 * RedisStore, with a cap of 2.
 */

const SECRET = 'limit-spec-session-secret-0123456789-abcdefgh';
const CAP = 2;

@Controller()
class LimitController {
  constructor(private readonly tokens: TokenService) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { userId: string }, @Session() session: Session) {
    await session.logIn({ userId: body.userId });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session() session: Session) {
    return { handle: session.handle };
  }

  @Post('tokens/login')
  @HttpCode(200)
  tokenLogin(@Body() body: { userId: string }) {
    return this.tokens.logIn({ userId: body.userId });
  }
}

function limitModule(store: SessionStore): unknown {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: SECRET,
        store,
        expirySweep: false,
        tokens: {
          secret: 'limit-spec-token-secret-0123456789-abcdefghij',
          issuer: 'https://auth.limit.test',
          audience: 'api.limit.test',
        },
      }),
    ],
    controllers: [LimitController],
  })
  class LimitAppModule {}
  return LimitAppModule;
}

type StoreKind = 'memory' | 'redis';
const CASES: [Platform, StoreKind][] = PLATFORMS.flatMap((platform) =>
  (['memory', 'redis'] as const).map((store): [Platform, StoreKind] => [platform, store]),
);

let redis: Promise<RedisServer> | undefined;
let prefixes = 0;
let users = 0;

afterAll(async () => {
  await (await redis)?.stop();
});

describe.each(CASES)('destroyed "limit" (%s, %s store)', (platform, storeKind) => {
  let running: RunningApp;
  let subscription: Subscription;
  const events: SessionEvent[] = [];

  beforeAll(async () => {
    let store: SessionStore = new MemoryStore({ maxSessionsPerUser: CAP });
    if (storeKind === 'redis') {
      redis ??= startRedis();
      const { url } = await redis;
      store = new RedisStore({ url, prefix: `limit${++prefixes}:`, maxSessionsPerUser: CAP });
    }
    running = await startTestApp(platform, limitModule(store));
    subscription = running.app.get(SessionService).events$.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    subscription?.unsubscribe();
    await running?.close();
  });
  beforeEach(() => {
    events.length = 0;
  });

  async function logIn(userId: string, userAgent: string) {
    const res = await request(running.http)
      .post('/login')
      .set('User-Agent', userAgent)
      .send({ userId });
    expect(res.status).toBe(200);
    const cookie = setCookies(res)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
    const me = await request(running.http).get('/me').set('Cookie', cookie);
    return { cookie, handle: me.body.handle as string };
  }

  it('a log-in past the cap: one destroyed "limit" for the oldest session, which is then revoked', async () => {
    const user = `limit-user-${++users}`;
    const first = await logIn(user, 'limit-spec/first');
    await logIn(user, 'limit-spec/second');
    expect(events.filter((e) => e.type === 'destroyed')).toEqual([]);
    events.length = 0;

    await logIn(user, 'limit-spec/third');
    const destroyed = events.filter((e) => e.type === 'destroyed');
    expect(destroyed).toEqual([
      {
        type: 'destroyed',
        reason: 'limit',
        kind: 'cookie',
        handle: first.handle,
        userId: user,
        createdAt: expect.any(Number),
        at: expect.any(Number),
        // the request that pushed it out
        ip: expect.any(String),
        userAgent: 'limit-spec/third',
      },
    ]);
    const res = await request(running.http).get('/me').set('Cookie', first.cookie);
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('revoked');
  });

  it('token families and cookie sessions share the cap: each pushes the other out, by kind', async () => {
    const user = `limit-user-${++users}`;
    const cookie = await logIn(user, 'limit-spec/browser');
    const token = await request(running.http).post('/tokens/login').send({ userId: user });
    const family = (token.body.refreshToken as string).split('.')[0];
    events.length = 0;
    // A second family: the cap (2) pushes out the cookie session, the oldest.
    await request(running.http).post('/tokens/login').send({ userId: user });
    expect(events.filter((e) => e.type === 'destroyed')).toEqual([
      expect.objectContaining({ reason: 'limit', kind: 'cookie', handle: cookie.handle }),
    ]);
    events.length = 0;
    // A cookie log-in: now the first family is the oldest.
    await logIn(user, 'limit-spec/browser-again');
    expect(events.filter((e) => e.type === 'destroyed')).toEqual([
      expect.objectContaining({ reason: 'limit', kind: 'token', handle: family, userId: user }),
    ]);
  });
});
