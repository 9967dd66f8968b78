import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import request from 'supertest';
import { RequireSession } from '../../lib/decorators/require-session.decorator.js';
import { Session } from '../../lib/decorators/session.decorator.js';
import { SessionModule } from '../../lib/session.module.js';
import { SessionService } from '../../lib/session.service.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import {
  SessionWebSocketModule,
  SocketSessions,
  WsSessionGuard,
  type ReadonlySession,
} from '../../lib/websockets/index.js';
import { SessionGateway } from '../../sample/ws.gateway.js';
import { cookiePair } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import { PLATFORMS, sleep } from '../support/sample-app.harness.js';
import {
  closeAllProbes,
  openSocketIo,
  openWs,
  type SocketEnd,
  type SocketProbe,
} from './socket-probes.js';
import { startSocketApp, type RunningSocketApp, type SocketPlatform } from './ws-test-app.js';

/**
 * Issue 12 item 2, WebSockets: a gateway's sockets get the session of their
 * handshake cookie (read-only, every HTTP rule enforced), `@Session()` and
 * `WsSessionGuard` in message handlers, and a socket whose session ends
 * (logout, "log out everywhere" from another app instance on the same
 * Redis, idle timeout) is closed within 2 s. On Express and Fastify, with
 * the ws adapter (the sample's gateway) and with socket.io.
 */

const SECRET = 'websocket-spec-secret-0123456789-abcdefgh';
const IDLE_MS = 1500;
/** The freshness the guarded `transfer` message asks of a log-in. */
const FRESH_WITHIN_MS = 300;
/** The promise: a socket whose session ended is closed within this long. */
const CLOSE_WITHIN_MS = 2000;

@Controller()
class AuthController {
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { userId: string }, @Session() session: Session) {
    await session.logIn({ userId: body.userId, roles: ['user'] });
    return { ok: true };
  }

  /** A privilege change: the session ID is rotated, the session (its handle) goes on. */
  @Post('promote')
  @HttpCode(200)
  promote(@Session() session: Session) {
    session.setRoles([...session.roles, 'editor']);
    return { ok: true };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Session() session: Session) {
    await session.destroy();
    return { ok: true };
  }
}

/** The sample gateway's behaviour on socket.io: `session` on connect, guarded `whoami`. */
@WebSocketGateway()
class IoSessionGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SocketSessions) {}

  async handleConnection(client: Socket): Promise<void> {
    const session = await this.sockets.attach(client);
    if (session) client.emit('session', { userId: session.userId });
  }

  @UseGuards(WsSessionGuard)
  @SubscribeMessage('whoami')
  whoami(@Session() session: ReadonlySession) {
    return { event: 'whoami', data: { userId: session.userId, roles: session.roles } };
  }

  /**
   * Needs a log-in of the last FRESH_WITHIN_MS, as `@RequireSession({ freshWithin })`
   * on HTTP; its SessionGuard checks the socket's session (no WsSessionGuard here).
   */
  @RequireSession({ freshWithin: FRESH_WITHIN_MS })
  @SubscribeMessage('transfer')
  transfer() {
    return { event: 'transfer', data: { ok: true } };
  }
}

/** A namespace whose gateway attaches no session: WsSessionGuard refuses its messages. */
@WebSocketGateway({ namespace: '/open' })
class IoOpenGateway {
  @UseGuards(WsSessionGuard)
  @SubscribeMessage('whoami')
  whoami(@Session() session: ReadonlySession) {
    return { event: 'whoami', data: { userId: session.userId } };
  }

  @RequireSession()
  @SubscribeMessage('transfer')
  transfer() {
    return { event: 'transfer', data: { ok: true } };
  }
}

function socketModule(sockets: SocketPlatform, store: SessionStore): unknown {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: SECRET,
        store,
        idleTimeout: IDLE_MS,
        absoluteTimeout: '1h',
        expirySweep: false,
        bruteForce: { maxFailures: 3 },
      }),
      SessionWebSocketModule.forRoot(),
    ],
    controllers: [AuthController],
    providers: sockets === 'ws' ? [SessionGateway] : [IoSessionGateway, IoOpenGateway],
  })
  class SocketAppModule {}
  return SocketAppModule;
}

async function logIn(app: RunningSocketApp, userId: string): Promise<string> {
  const res = await request(app.http).post('/login').send({ userId });
  expect(res.status).toBe(200);
  return cookiePair(res);
}

function connect(sockets: SocketPlatform, app: RunningSocketApp, cookie?: string): SocketProbe {
  return sockets === 'ws'
    ? openWs(`ws://127.0.0.1:${app.port}/ws`, cookie)
    : openSocketIo(app.http, cookie);
}

/** How long after `since` (performance.now()) the socket closed, asserting it was for the session. */
async function closeLatency(probe: SocketProbe, since: number, reason: string): Promise<number> {
  const end: SocketEnd = await probe.ended;
  expect({ code: end.code, reason: end.reason }).toEqual({ code: 4401, reason });
  const latency = Math.max(0, end.at - since);
  latencies.push(`${currentTest}: ${Math.round(latency)} ms`);
  return latency;
}

const latencies: string[] = [];
let currentTest = '';

afterEach(() => closeAllProbes());
afterAll(() => {
  // The measured close latencies, for the report (jest prints console output of the file).
  console.log(`WebSocket close latencies:\n  ${latencies.join('\n  ')}`);
});

const MATRIX = PLATFORMS.flatMap((platform) =>
  (['ws', 'socket.io'] as const).map((sockets) => [platform, sockets] as const),
);

describe.each(MATRIX)('WebSocket sessions (%s, %s)', (platform, sockets) => {
  let app: RunningSocketApp;
  const name = (test: string) => (currentTest = `${platform}/${sockets} ${test}`);

  beforeAll(async () => {
    app = await startSocketApp(platform, sockets, socketModule(sockets, new MemoryStore()));
  });
  afterAll(() => app?.close());

  it('tells a socket opened with a live session cookie its session', async () => {
    const cookie = await logIn(app, 'alice');
    const probe = connect(sockets, app, cookie);
    expect(await probe.next('session')).toMatchObject({ userId: 'alice' });
  });

  it('gives a message handler the socket session through @Session()', async () => {
    const cookie = await logIn(app, 'bob');
    const probe = connect(sockets, app, cookie);
    await probe.next('session');
    probe.send('whoami');
    expect(await probe.next('whoami')).toEqual({ userId: 'bob', roles: ['user'] });
  });

  it('closes a socket without a session cookie with 4401 no_session', async () => {
    const end = await connect(sockets, app).ended;
    expect({ code: end.code, reason: end.reason }).toEqual({ code: 4401, reason: 'no_session' });
  });

  it('closes a socket whose cookie has a bad signature with 4401 no_session', async () => {
    const cookie = await logIn(app, 'carol');
    const forged = `${cookie.slice(0, cookie.lastIndexOf('.'))}.forged-signature`;
    const end = await connect(sockets, app, forged).ended;
    expect({ code: end.code, reason: end.reason }).toEqual({ code: 4401, reason: 'no_session' });
  });

  it('closes a socket whose session timed out before the handshake with 4401 idle_timeout', async () => {
    const cookie = await logIn(app, 'dave');
    await sleep(IDLE_MS + 100);
    const end = await connect(sockets, app, cookie).ended;
    expect({ code: end.code, reason: end.reason }).toEqual({ code: 4401, reason: 'idle_timeout' });
  });

  it('closes the socket within 2 s of POST /logout', async () => {
    name('logout');
    const cookie = await logIn(app, 'erin');
    const probe = connect(sockets, app, cookie);
    await probe.next('session');
    const res = await request(app.http).post('/logout').set('Cookie', cookie);
    expect(res.status).toBe(200);
    const loggedOutAt = performance.now();
    expect(await closeLatency(probe, loggedOutAt, 'no_session')).toBeLessThan(CLOSE_WITHIN_MS);
  });

  it('keeps the socket across an ID rotation (privilege change) and sees the new roles', async () => {
    const cookie = await logIn(app, 'ivan');
    const probe = connect(sockets, app, cookie);
    await probe.next('session');
    expect((await request(app.http).post('/promote').set('Cookie', cookie)).status).toBe(200);
    await sleep(1300); // one re-check follows the rotation's forward
    probe.send('whoami');
    expect(await probe.next('whoami')).toEqual({ userId: 'ivan', roles: ['user', 'editor'] });
  });

  it('closes the socket within 2 s of the idle timeout (socket traffic does not touch the session)', async () => {
    name('idle timeout');
    const loginStarted = performance.now();
    const cookie = await logIn(app, 'frank');
    const probe = connect(sockets, app, cookie);
    await probe.next('session');
    probe.send('whoami');
    await probe.next('whoami');
    const latency = await closeLatency(probe, loginStarted + IDLE_MS, 'idle_timeout');
    expect(latency).toBeLessThan(CLOSE_WITHIN_MS);
  });
});

describe.each(PLATFORMS)('WsSessionGuard (%s, socket.io)', (platform) => {
  let app: RunningSocketApp;
  beforeAll(async () => {
    app = await startSocketApp(platform, 'socket.io', socketModule('socket.io', new MemoryStore()));
  });
  afterAll(() => app?.close());

  it('refuses a message of a socket without a session with a WsException carrying the reason', async () => {
    const probe = openSocketIo(app.http, undefined, '/open');
    probe.send('whoami');
    expect(await probe.next('exception')).toMatchObject({ status: 'error', reason: 'no_session' });
  });

  it('@RequireSession() alone refuses a message of a socket without a session', async () => {
    const probe = openSocketIo(app.http, undefined, '/open');
    probe.send('transfer');
    expect(await probe.next('exception')).toMatchObject({ status: 'error', reason: 'no_session' });
  });

  it('@RequireSession({ freshWithin }): a message needs a recent log-in (reauth_required after)', async () => {
    const probe = openSocketIo(app.http, await logIn(app, 'frank'));
    await probe.next('session');
    probe.send('transfer');
    expect(await probe.next('transfer')).toEqual({ ok: true });
    await sleep(FRESH_WITHIN_MS + 150);
    probe.send('transfer');
    expect(await probe.next('exception')).toMatchObject({
      status: 'error',
      reason: 'reauth_required',
    });
  });
});

describe('SessionService.fromCookieHeader (read-only)', () => {
  let app: RunningSocketApp;
  let sessions: SessionService;
  beforeAll(async () => {
    app = await startSocketApp('express', 'ws', socketModule('ws', new MemoryStore()));
    sessions = app.app.get(SessionService);
  });
  afterAll(() => app?.close());

  it('loads the session without touching it, and gives no session to a forged cookie', async () => {
    const cookie = await logIn(app, 'grace');
    const [before] = await sessions.listForUser('grace');
    await sleep(IDLE_MS / 2 + 100); // past touchAfter: an HTTP read would write activity now
    const session = await sessions.fromCookieHeader(cookie, { ip: '10.0.0.1' });
    expect(session).toMatchObject({ isAuthenticated: true, userId: 'grace', roles: ['user'] });
    const [after] = await sessions.listForUser('grace');
    expect(after.lastSeenAt).toEqual(before.lastSeenAt);
    const forged = await sessions.fromCookieHeader(`${cookie}x`);
    expect(forged).toMatchObject({ isAuthenticated: false, endReason: 'no_session' });
  });

  it('counts bad signatures against the client address (the guessing defence)', async () => {
    const bad = 'sid=not-a-session.bad-signature';
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await sessions.fromCookieHeader(bad, { ip: '10.9.9.9' }));
    expect(answers.map((a) => a.guessingRetryAfter !== undefined)).toEqual([
      false,
      false,
      false,
      true,
    ]);
    // Another address is not affected.
    expect(
      (await sessions.fromCookieHeader(bad, { ip: '10.9.9.8' })).guessingRetryAfter,
    ).toBeUndefined();
  });
});

describe.each(MATRIX)(
  '"log out everywhere" from another app instance on one Redis (%s, %s)',
  (platform, sockets) => {
    let redis: RedisServer;
    let first: RunningSocketApp;
    let second: RunningSocketApp;
    let prefixes = 0;

    beforeAll(async () => {
      redis = await startRedis();
      const prefix = `ws-${platform}-${sockets}-${++prefixes}:`;
      // Two instances, each with its own client, on one store prefix: what a deployment looks like.
      const store = () => new RedisStore({ url: redis.url, prefix });
      first = await startSocketApp(platform, sockets, socketModule(sockets, store()));
      second = await startSocketApp(platform, sockets, socketModule(sockets, store()));
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await redis?.stop();
    });

    it('closes the sockets on one instance within 2 s of revokeAllForUser on the other', async () => {
      currentTest = `${platform}/${sockets} revokeAllForUser from another instance`;
      const laptop = await logIn(first, 'heidi');
      const phone = await logIn(second, 'heidi');
      const onFirst = connect(sockets, first, laptop);
      const onSecond = connect(sockets, first, phone);
      await onFirst.next('session');
      await onSecond.next('session');
      expect(await second.app.get(SessionService).revokeAllForUser('heidi')).toBe(2);
      const revokedAt = performance.now();
      const latencies = await Promise.all([
        closeLatency(onFirst, revokedAt, 'revoked'),
        closeLatency(onSecond, revokedAt, 'revoked'),
      ]);
      for (const latency of latencies) expect(latency).toBeLessThan(CLOSE_WITHIN_MS);
    });
  },
);
