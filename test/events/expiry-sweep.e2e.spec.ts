import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import {
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
  TokenService,
  type SessionEvent,
  type SessionModuleOptions,
} from '../../lib/index.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { setCookies, parseSetCookie } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import {
  PLATFORMS,
  sleep,
  startTestApp,
  type Platform,
  type RunningApp,
} from '../support/sample-app.harness.js';

/**
 * Issue 11 item 1: `expired` is emitted for a session (and a refresh-token
 * family) that no request ever comes back for, once, by whichever app
 * instance claims it from the store's expiry index; a request that meets the
 * ended session afterwards is told why, and reports nothing again. Two app
 * instances share one store (a MemoryStore instance, or one Redis prefix), as
 * a deployment does, on Express and Fastify.
 */

const SECRET = 'expiry-sweep-spec-secret-0123456789-abcdefgh';
const IDLE_MS = 400;
const ABSOLUTE_MS = 1_200;
const SWEEP_MS = 100;
/** Long enough for the end, one sweep and the store's clock granularity. */
const SETTLE_MS = IDLE_MS + 6 * SWEEP_MS;

@Controller()
class SweepController {
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
    return { userId: session.userId, handle: session.handle };
  }

  @Post('tokens/login')
  @HttpCode(200)
  tokenLogin(@Body() body: { userId: string }) {
    return this.tokens.logIn({ userId: body.userId });
  }
}

function sweepModule(options: SessionModuleOptions): unknown {
  @Module({ imports: [SessionModule.forRoot(options)], controllers: [SweepController] })
  class SweepAppModule {}
  return SweepAppModule;
}

type StoreKind = 'memory' | 'redis';
const CASES: [Platform, StoreKind][] = PLATFORMS.flatMap((platform) =>
  (['memory', 'redis'] as const).map((store): [Platform, StoreKind] => [platform, store]),
);

let redis: Promise<RedisServer> | undefined;
let prefixes = 0;
let users = 0;
const newUser = () => `sweep-user-${++users}`;

afterAll(async () => {
  await (await redis)?.stop();
});

describe.each(CASES)('expired without a request (%s, %s store)', (platform, storeKind) => {
  /** Two instances of one app on one store, exporting metrics to one registry. */
  const apps: RunningApp[] = [];
  const subscriptions: Subscription[] = [];
  const events: SessionEvent[] = [];
  const registry = new Registry();
  let store: SessionStore;

  beforeAll(async () => {
    if (storeKind === 'redis') {
      redis ??= startRedis();
      store = new RedisStore({ url: (await redis).url, prefix: `sweep${++prefixes}:` });
    } else {
      store = new MemoryStore();
    }
    // Each instance closes the store it was given at shutdown; the second gets a view that does not.
    const shared = new Proxy(store, {
      get: (target, name) =>
        name === 'close' ? async () => {} : Reflect.get(target, name, target),
    });
    for (const instanceStore of [store, shared]) {
      const options: SessionModuleOptions = {
        secret: SECRET,
        store: instanceStore,
        idleTimeout: IDLE_MS,
        absoluteTimeout: ABSOLUTE_MS,
        expirySweep: SWEEP_MS,
        tokens: {
          secret: 'expiry-sweep-spec-token-secret-0123456789-ab',
          issuer: 'https://auth.sweep.test',
          audience: 'api.sweep.test',
          refreshIdle: IDLE_MS,
          refreshTtl: ABSOLUTE_MS,
        },
        // One registry for both (as two modules of one process): each expiry counts once in it.
        metrics: { registry },
      };
      const running = await startTestApp(platform, sweepModule(options));
      apps.push(running);
      subscriptions.push(running.app.get(SessionService).events$.subscribe((e) => events.push(e)));
    }
  });
  afterAll(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    // The owner of the store last: the other instance's sweeper may still be using it.
    for (const running of [...apps].reverse()) await running.close();
  });
  beforeEach(() => {
    events.length = 0;
  });

  const expiredOf = (handle: string) =>
    events.filter((e) => e.type === 'expired' && e.handle === handle);

  async function logIn(userId: string): Promise<{ cookie: string; handle: string }> {
    const res = await request(apps[0].http).post('/login').send({ userId });
    expect(res.status).toBe(200);
    const cookie = setCookies(res)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
    const me = await request(apps[0].http).get('/me').set('Cookie', cookie);
    return { cookie, handle: me.body.handle as string };
  }

  it('a session nobody comes back for: one expired "idle" (no request metadata), from one of the two instances', async () => {
    const user = newUser();
    const { handle } = await logIn(user);
    const createdAt = events.find((e) => e.type === 'created' && e.handle === handle)?.at;
    await sleep(SETTLE_MS);
    expect(expiredOf(handle)).toEqual([
      {
        type: 'expired',
        reason: 'idle',
        kind: 'cookie',
        handle,
        userId: user,
        createdAt: expect.any(Number),
        at: expect.any(Number),
      },
    ]);
    const [expired] = expiredOf(handle);
    expect(expired.at).toBeGreaterThanOrEqual(createdAt! + IDLE_MS);
    // Several more sweeps report nothing again.
    await sleep(4 * SWEEP_MS);
    expect(expiredOf(handle)).toHaveLength(1);
  });

  it('a request that meets the swept session is told why, and reports nothing more', async () => {
    const { cookie, handle } = await logIn(newUser());
    await sleep(SETTLE_MS);
    expect(expiredOf(handle)).toHaveLength(1);
    for (const running of apps) {
      const res = await request(running.http).get('/me').set('Cookie', cookie);
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('idle_timeout');
    }
    expect(expiredOf(handle)).toHaveLength(1);
  });

  it('an active session reaches its absolute timeout: one expired "absolute"', async () => {
    const { cookie, handle } = await logIn(newUser());
    let status = 200;
    while (status === 200) {
      await sleep(IDLE_MS / 4);
      status = (await request(apps[1].http).get('/me').set('Cookie', cookie)).status;
    }
    await sleep(6 * SWEEP_MS);
    expect(expiredOf(handle)).toEqual([
      expect.objectContaining({ reason: 'absolute', kind: 'cookie' }),
    ]);
  });

  it('a session still in use is never reported', async () => {
    const { cookie, handle } = await logIn(newUser());
    for (let i = 0; i < 4; i++) {
      await sleep(IDLE_MS / 2);
      expect(
        (
          await request(apps[i % 2].http)
            .get('/me')
            .set('Cookie', cookie)
        ).status,
      ).toBe(200);
    }
    expect(expiredOf(handle)).toEqual([]);
  });

  it('a refresh-token family nobody refreshes: one expired of kind "token"', async () => {
    const user = newUser();
    const res = await request(apps[0].http).post('/tokens/login').send({ userId: user });
    expect(res.status).toBe(200);
    const family = (res.body.refreshToken as string).split('.')[0];
    await sleep(SETTLE_MS);
    expect(events.filter((e) => e.type === 'expired' && e.userId === user)).toEqual([
      expect.objectContaining({ kind: 'token', reason: 'idle', handle: family }),
    ]);
  });

  it('session_events_total{type="expired"} and session_lifetime_seconds count it', async () => {
    const count = async () => {
      const text = await registry.metrics();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('session_events_total{type="expired",reason="idle"}'));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const lifetimes = async () => {
      const text = await registry.metrics();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('session_lifetime_seconds_count{reason="idle"}'));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const before = { events: await count(), lifetimes: await lifetimes() };
    await logIn(newUser());
    await logIn(newUser());
    await logIn(newUser());
    await sleep(SETTLE_MS);
    const swept = events.filter((e) => e.type === 'expired').length;
    expect(swept).toBe(3);
    expect({ events: await count(), lifetimes: await lifetimes() }).toEqual({
      events: before.events + 3,
      lifetimes: before.lifetimes + 3,
    });
  });
});
