import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import type { IncomingMessage, Server } from 'node:http';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import {
  RotateSession,
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
import type { SessionRecord } from '../../lib/stores/session-record.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { fileLog, type CapturedLine } from '../support/log-capture.js';
import {
  PLATFORMS,
  sleep,
  startTestApp,
  type Platform,
  type RunningApp,
} from '../support/sample-app.harness.js';

/**
 * Issue 11 item 2: the module's default event subscriber writes one line
 * per lifecycle event through Nest's Logger, context `SessionEvents`:
 * `session <type> key=value ...`, at `logging.level` (default `debug`), the
 * events that may need a look at `logging.problemLevel` (default `warn`);
 * `logging: false` writes none; store outages are the outage monitor's
 * (context `SessionModule`), not repeated here. The lines are read from the
 * harness's capture of this file's log (test/support/log-capture.ts), and
 * every expected line is spelled out here, not built with `formatEvent`.
 */

const SECRET = 'event-log-spec-session-secret-0123456789-abcdef';
const TOKENS = {
  secret: 'event-log-spec-token-secret-0123456789-abcdefgh',
  issuer: 'https://auth.event-log.test',
  audience: 'api.event-log.test',
} as const;
const IDLE_MS = 1_000;

interface LoginBody {
  userId: string;
}
interface RefreshBody {
  refreshToken: string;
}

@Controller()
class EventLogController {
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
    return { userId: session.userId };
  }

  @Post('rotate')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  @RotateSession()
  rotate() {
    return { ok: true };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Session() session: Session) {
    await session.destroy();
    return { ok: true };
  }

  @Post('tokens/login')
  @HttpCode(200)
  tokenLogin(@Body() body: LoginBody) {
    return this.tokens.logIn({ userId: body.userId, roles: ['user'] });
  }

  @Post('tokens/refresh')
  @HttpCode(200)
  tokenRefresh(@Body() body: RefreshBody) {
    return this.tokens.refresh(body.refreshToken);
  }
}

/** A MemoryStore whose reads can be made to fail, for an outage without a redis-server. */
class SwitchableStore extends MemoryStore {
  failing = false;

  override async get(key: string): Promise<SessionRecord | null> {
    if (this.failing) throw new Error('store switched off by the test');
    return super.get(key);
  }
}

function eventLogModule(options: Partial<SessionModuleOptions> = {}): unknown {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: SECRET,
        store: new MemoryStore(),
        tokens: { ...TOKENS },
        // The client address is the X-Forwarded-For entry each request sets.
        bruteForce: { maxFailures: 1000, window: '1m', trustProxy: 1 },
        idleTimeout: IDLE_MS,
        // Expiry is met by a request here (the sweeper's events have no request).
        expirySweep: false,
        ...options,
      }),
    ],
    controllers: [EventLogController],
  })
  class EventLogAppModule {}
  return EventLogAppModule;
}

/** A client: its address (sent as X-Forwarded-For) and User-Agent, the `ip` and `userAgent` of its events. */
interface Client {
  ip: string;
  userAgent: string;
}
let clients = 0;
/** A User-Agent of plain characters only: written as it is, unquoted. */
const newClient = (userAgent = `event-log-spec/${clients + 1}.0`): Client => ({
  ip: `203.0.113.${++clients}`,
  userAgent,
});
let users = 0;
const newUser = () => `user-${++users}`;

/** The lines of the event log (context `SessionEvents`) written since `mark`, as level and message. */
const eventLines = (mark: number) =>
  fileLog
    .since(mark)
    .filter((line) => line.context === 'SessionEvents')
    .map(({ level, message }) => ({ level, message }));

/** A signed cookie whose signature does not verify: `rejected bad_signature`, and no session is made. */
const FORGED = 'sid=forged-session-id-0123456789abcdefghij.bad-signature';

class Caller {
  constructor(private readonly running: RunningApp) {}

  async call(
    client: Client,
    method: 'get' | 'post',
    path: string,
    options: { cookie?: string; body?: object } = {},
  ) {
    const agent = request(this.running.http);
    const req = (method === 'get' ? agent.get(path) : agent.post(path))
      .set('User-Agent', client.userAgent)
      .set('X-Forwarded-For', client.ip);
    if (options.cookie) req.set('Cookie', options.cookie);
    return options.body ? req.send(options.body) : req;
  }

  /** The `sid=...` pair a response set, or `before` when it set none. */
  static cookieAfter(res: { headers: Record<string, unknown> }, before?: string): string {
    const set = setCookies(res as never)
      .map(parseSetCookie)
      .filter((c) => c.name === 'sid' && !c.cleared)
      .at(-1);
    if (set) return set.pair;
    if (before === undefined) throw new Error('expected a session cookie');
    return before;
  }
}

/** One app of a describe block, with the events it emitted (to name handles and count lines). */
function useApp(platform: Platform, module: () => unknown) {
  const state = {} as { running: RunningApp; caller: Caller; events: SessionEvent[] };
  let subscription: Subscription | undefined;
  beforeAll(async () => {
    state.running = await startTestApp(platform, module());
    state.caller = new Caller(state.running);
    state.events = [];
    subscription = state.running.app
      .get(SessionService)
      .events$.subscribe((event) => state.events.push(event));
  });
  afterAll(async () => {
    subscription?.unsubscribe();
    await state.running?.close();
  });
  beforeEach(() => {
    state.events.length = 0;
  });
  return state;
}

/** `ip=... userAgent=...` of a client whose User-Agent is plain (unquoted). */
const origin = (client: Client) => `ip=${client.ip} userAgent=${client.userAgent}`;

describe.each(PLATFORMS)('session event log (%s)', (platform) => {
  describe('default levels: lifecycle at debug, problems at warn', () => {
    const app = useApp(platform, () => eventLogModule());

    it('a cookie session: one line per event, `session <type> key=value ...`, context SessionEvents, at debug', async () => {
      const client = newClient();
      const user = newUser();
      const mark = fileLog.mark();
      const anonymous = Caller.cookieAfter(await app.caller.call(client, 'get', '/views'));
      const created = app.events[0].handle;
      const loggedIn = Caller.cookieAfter(
        await app.caller.call(client, 'post', '/login', {
          cookie: anonymous,
          body: { userId: user },
        }),
      );
      const handle = app.events[1].handle;
      const rotated = Caller.cookieAfter(
        await app.caller.call(client, 'post', '/rotate', { cookie: loggedIn }),
        loggedIn,
      );
      expect((await app.caller.call(client, 'post', '/logout', { cookie: rotated })).status).toBe(
        200,
      );

      expect(fileLog.since(mark).filter((line) => line.context === 'SessionEvents')).toEqual(
        app.events.map(() => expect.objectContaining({ context: 'SessionEvents' })),
      );
      expect(eventLines(mark)).toEqual([
        {
          level: 'debug',
          message: `session created kind=cookie handle=${created} ${origin(client)}`,
        },
        {
          level: 'debug',
          message: `session rotated kind=cookie reason=login handle=${handle} userId=${user} ${origin(client)}`,
        },
        {
          level: 'debug',
          message: `session rotated kind=cookie reason=route handle=${handle} userId=${user} ${origin(client)}`,
        },
        {
          level: 'debug',
          message: `session destroyed kind=cookie reason=logout handle=${handle} userId=${user} ${origin(client)}`,
        },
      ]);
    });

    it('expired: at debug, with its reason', async () => {
      const client = newClient();
      const user = newUser();
      const cookie = Caller.cookieAfter(
        await app.caller.call(client, 'post', '/login', { body: { userId: user } }),
      );
      const handle = app.events[0].handle;
      await sleep(IDLE_MS + 200);
      const mark = fileLog.mark();
      expect((await app.caller.call(client, 'get', '/me', { cookie })).status).toBe(401);
      expect(eventLines(mark)).toEqual([
        {
          level: 'debug',
          message: `session expired kind=cookie reason=idle handle=${handle} userId=${user} ${origin(client)}`,
        },
      ]);
    });

    it('rejected: at warn', async () => {
      const client = newClient();
      const mark = fileLog.mark();
      expect((await app.caller.call(client, 'get', '/me', { cookie: FORGED })).status).toBe(401);
      expect(eventLines(mark)).toEqual([
        {
          level: 'warn',
          message: `session rejected kind=cookie reason=bad_signature ${origin(client)}`,
        },
      ]);
    });

    it('tokens: token_issued and token_refreshed at debug; refresh_reused and destroyed "reuse" at warn', async () => {
      const client = newClient();
      const user = newUser();
      const mark = fileLog.mark();
      const first = (
        await app.caller.call(client, 'post', '/tokens/login', { body: { userId: user } })
      ).body as TokenPair;
      const refreshed = await app.caller.call(client, 'post', '/tokens/refresh', {
        body: { refreshToken: first.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      const reused = await app.caller.call(client, 'post', '/tokens/refresh', {
        body: { refreshToken: first.refreshToken },
      });
      expect(reused.status).toBe(401);

      const family = first.family;
      // No ip or userAgent: the token events do not carry the request's (TokenService emits them).
      const fields = `handle=${family} userId=${user}`;
      expect(eventLines(mark)).toEqual([
        { level: 'debug', message: `session token_issued kind=token ${fields}` },
        { level: 'debug', message: `session token_refreshed kind=token ${fields}` },
        { level: 'warn', message: `session refresh_reused kind=token ${fields}` },
        { level: 'warn', message: `session destroyed kind=token reason=reuse ${fields}` },
      ]);
    });
  });

  describe("logging: { level: 'log' }: lifecycle at log, problems still at warn", () => {
    const app = useApp(platform, () => eventLogModule({ logging: { level: 'log' } }));

    it('created at log, rejected at warn', async () => {
      const client = newClient();
      const mark = fileLog.mark();
      await app.caller.call(client, 'get', '/views');
      await app.caller.call(client, 'get', '/me', { cookie: FORGED });
      expect(eventLines(mark)).toEqual([
        {
          level: 'log',
          message: `session created kind=cookie handle=${app.events[0].handle} ${origin(client)}`,
        },
        {
          level: 'warn',
          message: `session rejected kind=cookie reason=bad_signature ${origin(client)}`,
        },
      ]);
    });
  });

  describe("logging: { problemLevel: 'verbose' }: problems at verbose, lifecycle still at debug", () => {
    const app = useApp(platform, () => eventLogModule({ logging: { problemLevel: 'verbose' } }));

    it('created at debug, rejected at verbose', async () => {
      const client = newClient();
      const mark = fileLog.mark();
      await app.caller.call(client, 'get', '/views');
      await app.caller.call(client, 'get', '/me', { cookie: FORGED });
      expect(eventLines(mark).map((line) => line.level)).toEqual(['debug', 'verbose']);
    });
  });

  describe('logging: false', () => {
    const silent = useApp(platform, () => eventLogModule({ logging: false }));
    const logging = useApp(platform, () => eventLogModule());

    it('no SessionEvents line at all, though the events happen (an app with the log on, the control, writes them)', async () => {
      const run = async (app: typeof silent) => {
        const client = newClient();
        const user = newUser();
        const mark = fileLog.mark();
        await app.caller.call(client, 'post', '/login', { body: { userId: user } });
        await app.caller.call(client, 'get', '/me', { cookie: FORGED });
        await app.caller.call(client, 'post', '/tokens/login', { body: { userId: user } });
        return eventLines(mark).length;
      };
      expect(await run(silent)).toBe(0);
      expect(silent.events.map((event) => event.type)).toEqual([
        'created',
        'rejected',
        'token_issued',
      ]);
      expect(await run(logging)).toBe(3);
    });
  });

  describe('hostile values stay on one line, JSON-quoted', () => {
    const app = useApp(platform, () => eventLogModule());
    beforeAll(() => smuggleUserAgents(app.running));

    it('a User-Agent with quotes, backslashes, a tab and forged fields (all Node lets through)', async () => {
      const userAgent = 'evil "x" \\ \t handle=forged userId=admin\u00e9';
      const client = newClient(userAgent);
      const mark = fileLog.mark();
      await app.caller.call(client, 'get', '/me', { cookie: FORGED });
      expect(eventLines(mark)).toEqual([
        {
          level: 'warn',
          message: `session rejected kind=cookie reason=bad_signature ip=${client.ip} userAgent=${JSON.stringify(userAgent)}`,
        },
      ]);
    });

    it('a User-Agent with a newline and quotes (past the HTTP parser, which refuses it)', async () => {
      const userAgent = 'evil\n"session created kind=cookie handle=forged"\r\nX';
      const client = newClient(userAgent);
      const mark = fileLog.mark();
      const res = await request(app.running.http)
        .get('/me')
        .set(SMUGGLED_USER_AGENT, encodeURIComponent(userAgent))
        .set('X-Forwarded-For', client.ip)
        .set('Cookie', FORGED);
      expect(res.status).toBe(401);
      const lines = eventLines(mark);
      expect(lines).toEqual([
        {
          level: 'warn',
          message: `session rejected kind=cookie reason=bad_signature ip=${client.ip} userAgent=${JSON.stringify(userAgent)}`,
        },
      ]);
      expect(lines[0].message).not.toMatch(/[\r\n]/);
    });

    it('a user ID with a newline and quotes (it comes from the app: here a JSON body)', async () => {
      const client = newClient();
      const user = 'mallory\nsession destroyed kind=cookie reason="logout"';
      const mark = fileLog.mark();
      await app.caller.call(client, 'post', '/login', { body: { userId: user } });
      const lines = eventLines(mark);
      expect(lines).toEqual([
        {
          level: 'debug',
          message: `session created kind=cookie reason=login handle=${app.events[0].handle} userId=${JSON.stringify(user)} ${origin(client)}`,
        },
      ]);
      expect(lines[0].message).not.toMatch(/[\r\n]/);
    });
  });

  describe('store outages are not repeated by the event log', () => {
    const store = new SwitchableStore();
    const app = useApp(platform, () => eventLogModule({ store }));

    it('store_error: one error line of SessionModule (the outage monitor), no SessionEvents line; likewise the recovery', async () => {
      const client = newClient();
      const user = newUser();
      const mark = fileLog.mark();
      const cookie = Caller.cookieAfter(
        await app.caller.call(client, 'post', '/login', { body: { userId: user } }),
      );
      store.failing = true;
      try {
        for (let i = 0; i < 2; i++) {
          expect((await app.caller.call(client, 'get', '/me', { cookie })).status).toBe(503);
        }
      } finally {
        store.failing = false;
      }
      expect((await app.caller.call(client, 'get', '/me', { cookie })).status).toBe(200);

      expect(app.events.map((event) => event.type)).toEqual([
        'created',
        'store_error',
        'store_recovered',
      ]);
      // The log-in's line only: the log is on, and leaves the outage to the monitor.
      expect(eventLines(mark)).toEqual([
        {
          level: 'debug',
          message: `session created kind=cookie reason=login handle=${app.events[0].handle} userId=${user} ${origin(client)}`,
        },
      ]);
      const since = fileLog.since(mark);
      const outage = (line: CapturedLine) =>
        line.context === 'SessionModule' &&
        /Session store (unavailable|available again)/.test(line.message);
      expect(since.filter(outage).map(({ level, message }) => ({ level, message }))).toEqual([
        { level: 'error', message: expect.stringMatching(/^Session store unavailable/) },
        { level: 'log', message: 'Session store available again' },
      ]);
    });
  });
});

/** The request header {@link smuggleUserAgents} turns into the User-Agent (percent-encoded). */
const SMUGGLED_USER_AGENT = 'x-test-user-agent';

/**
 * Node's HTTP parser refuses a newline in any header value (400), so no
 * client can send one; a lenient proxy or parser in front could. This
 * stands in for it: a listener on the Node server, ahead of the
 * framework's, sets the User-Agent from {@link SMUGGLED_USER_AGENT} before
 * Express or Fastify (and the library) read the request.
 */
function smuggleUserAgents(running: RunningApp): void {
  const server = running.app.getHttpServer() as Server;
  server.prependListener('request', (req: IncomingMessage) => {
    const smuggled = req.headers[SMUGGLED_USER_AGENT];
    if (typeof smuggled === 'string') req.headers['user-agent'] = decodeURIComponent(smuggled);
  });
}
