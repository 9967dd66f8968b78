import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  createParamDecorator,
  ForbiddenException,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  AllowAnonymous,
  getSession,
  MemoryStore,
  RequireSession,
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
  SessionStore,
} from '../../lib/index.js';
import { CountingStore } from '../support/counting.store.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import {
  PLATFORMS,
  startTestApp,
  type Platform,
  type RunningApp,
} from '../support/sample-app.harness.js';

/**
 * Issue 12 item 3, the building blocks of users' own code: `getSession()`
 * for custom decorators and guards, `@AllowAnonymous()` under an app-wide
 * `SessionGuard`, and `overrideProvider(SessionStore)` reaching the store the
 * module really uses. On Express and Fastify.
 */

const SECRET = 'building-blocks-spec-secret-0123456789-abcd';

/** The README's example: the user ID of the request's session, from any handler. */
const CurrentUser = createParamDecorator(
  async (_data: unknown, context: ExecutionContext) => (await getSession(context)).userId ?? null,
);

/** A guard of the app's own, on the session it reads through getSession. */
@Injectable()
class EditorsOnly implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const session = await getSession<{ plan?: string }>(context);
    if (!session.roles.includes('editor')) throw new ForbiddenException('editors only');
    return true;
  }
}

@Controller()
class BlocksController {
  @Post('login')
  @HttpCode(200)
  @AllowAnonymous()
  async login(@Session() session: Session) {
    await session.logIn({ userId: 'blocks-user', roles: ['user'] });
    return { ok: true };
  }

  /** A user whose ID is a number, as many databases hand them out. */
  @Post('login-numeric')
  @HttpCode(200)
  @AllowAnonymous()
  async loginNumeric(@Session() session: Session) {
    await session.logIn({ userId: 42 });
    return { ok: true };
  }

  @Post('promote')
  @HttpCode(200)
  promote(@Session() session: Session) {
    session.setRoles([...session.roles, 'editor']);
    return { ok: true };
  }

  /** Behind the global guard: any logged-in session. */
  @Get('me')
  me(@CurrentUser() userId: string | null) {
    return { userId };
  }

  @Get('editors')
  @UseGuards(EditorsOnly)
  editors(@CurrentUser() userId: string | null) {
    return { userId };
  }

  /** Open, and never looks at the session: no store call. */
  @Get('health')
  @AllowAnonymous()
  health() {
    return { ok: true };
  }

  /** Open, but reads the session if there is one. */
  @Get('whoami')
  @AllowAnonymous()
  whoami(@CurrentUser() userId: string | null) {
    return { userId };
  }
}

/** A whole controller opened, one of its routes closed again by the handler's own decorator. */
@Controller('public')
@AllowAnonymous()
class PublicController {
  @Get()
  open() {
    return { ok: true };
  }

  @Get('account')
  @RequireSession()
  account(@CurrentUser() userId: string | null) {
    return { userId };
  }
}

function blocksModule(store: SessionStore): unknown {
  @Module({
    imports: [SessionModule.forRoot({ secret: SECRET, store, expirySweep: false })],
    controllers: [BlocksController, PublicController],
    providers: [{ provide: APP_GUARD, useClass: SessionGuard }, EditorsOnly],
  })
  class BlocksAppModule {}
  return BlocksAppModule;
}

const sidOf = (res: request.Response) =>
  setCookies(res)
    .map(parseSetCookie)
    .find((c) => c.name === 'sid' && !c.cleared)?.pair;

describe.each(PLATFORMS)('building blocks for your own code (%s)', (platform) => {
  let running: RunningApp;
  const store = new CountingStore();

  beforeAll(async () => {
    running = await startTestApp(platform, blocksModule(store));
  });
  afterAll(async () => {
    await running?.close();
  });

  async function logIn(): Promise<string> {
    const res = await request(running.http).post('/login');
    expect(res.status).toBe(200);
    return sidOf(res)!;
  }

  it('a global SessionGuard closes every route but the @AllowAnonymous() ones', async () => {
    expect((await request(running.http).get('/me')).status).toBe(401);
    expect((await request(running.http).get('/me')).body.reason).toBe('no_session');
    expect((await request(running.http).get('/health')).status).toBe(200);
    expect((await request(running.http).get('/public')).status).toBe(200);
    // log-in, the route a global guard would otherwise lock everyone out of
    const cookie = await logIn();
    expect((await request(running.http).get('/me').set('Cookie', cookie)).body).toEqual({
      userId: 'blocks-user',
    });
  });

  it("a handler's @RequireSession() closes a route of an @AllowAnonymous() controller again", async () => {
    expect((await request(running.http).get('/public/account')).status).toBe(401);
    const cookie = await logIn();
    const res = await request(running.http).get('/public/account').set('Cookie', cookie);
    expect(res.body).toEqual({ userId: 'blocks-user' });
  });

  it('@AllowAnonymous(): the guard does not load the session (no store call)', async () => {
    const cookie = await logIn();
    store.reset();
    expect((await request(running.http).get('/health').set('Cookie', cookie)).status).toBe(200);
    expect(store.total()).toBe(0);
    // a route that reads it still gets the session, with one read
    const res = await request(running.http).get('/whoami').set('Cookie', cookie);
    expect(res.body).toEqual({ userId: 'blocks-user' });
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('a custom @CurrentUser() built on getSession(): the user, or null for no session', async () => {
    expect((await request(running.http).get('/whoami')).body).toEqual({ userId: null });
    const cookie = await logIn();
    store.reset();
    const res = await request(running.http).get('/me').set('Cookie', cookie);
    expect(res.body).toEqual({ userId: 'blocks-user' });
    // the guard and the decorator share one load
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it("a guard of the app's own reads the session through getSession(), and sees its changes", async () => {
    let cookie = await logIn();
    expect((await request(running.http).get('/editors').set('Cookie', cookie)).status).toBe(403);
    const promoted = await request(running.http).post('/promote').set('Cookie', cookie);
    expect(promoted.status).toBe(200);
    cookie = sidOf(promoted) ?? cookie;
    const res = await request(running.http).get('/editors').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'blocks-user' });
  });
});

describe.each(PLATFORMS)('one user-ID type everywhere (%s)', (platform) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp(platform, blocksModule(new MemoryStore()));
  });
  afterAll(async () => {
    await running?.close();
  });

  it('a user logged in as the number 42 is listed and revoked as 42 or as "42"', async () => {
    const cookie = sidOf(await request(running.http).post('/login-numeric'))!;
    const service = running.app.get(SessionService);
    expect(await service.listForUser(42)).toHaveLength(1);
    expect(await service.listForUser('42')).toHaveLength(1);
    expect(await service.revokeAllForUser(42)).toBe(1);
    const res = await request(running.http).get('/me').set('Cookie', cookie);
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('revoked');
  });
});

describe.each(PLATFORMS)(
  'Test.createTestingModule().overrideProvider(SessionStore) (%s)',
  (platform: Platform) => {
    const configured = new CountingStore();
    const override = new CountingStore({ inner: new MemoryStore() });
    let app: INestApplication;
    let http: string;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [blocksModule(configured) as never],
      })
        .overrideProvider(SessionStore)
        .useValue(override)
        .compile();
      app =
        platform === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter())
          : moduleRef.createNestApplication();
      await app.init();
      if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
      await app.listen(0, '127.0.0.1');
      http = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await app?.close();
    });

    it('every store call goes to the store given to the override, none to the configured one', async () => {
      const login = await request(http).post('/login');
      expect(login.status).toBe(200);
      const cookie = sidOf(login)!;
      expect((await request(http).get('/me').set('Cookie', cookie)).body).toEqual({
        userId: 'blocks-user',
      });
      expect(override.nonZero()).toEqual({ set: 1, get: 1 });
      expect(configured.total()).toBe(0);
      // and the module's SessionStore is that one, for app code that injects it
      expect(app.get(SessionStore)).toBe(override);
    });
  },
);
