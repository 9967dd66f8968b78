import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpCode, Injectable, Module, Post, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import {
  MemoryStore,
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
} from '../../lib/index.js';
import { parseSetCookie, setCookies } from '../support/cookies.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';

/**
 * Issue 12 item 3: `SessionModule.forRoot({ isGlobal: false })` in the
 * application module and `SessionModule.forFeature()` in a feature module.
 * The feature's controllers use SessionGuard and its services inject
 * SessionService, on the root's one engine and store; without forFeature()
 * the names are really not global. On Express and Fastify.
 */

const SECRET = 'feature-module-spec-secret-0123456789-abcd';

/** A feature module's own service, on the app's SessionService. */
@Injectable()
class AccountsService {
  constructor(readonly sessions: SessionService) {}

  async sessionCount(userId: string): Promise<number> {
    return (await this.sessions.listForUser(userId)).length;
  }
}

@Controller('accounts')
@UseGuards(SessionGuard)
class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get('me')
  async me(@Session() session: Session) {
    return { userId: session.userId, sessions: await this.accounts.sessionCount(session.userId!) };
  }
}

@Module({
  imports: [SessionModule.forFeature()],
  controllers: [AccountsController],
  providers: [AccountsService],
})
class AccountsModule {}

@Controller()
class RootController {
  @Post('login')
  @HttpCode(200)
  async login(@Session() session: Session) {
    await session.logIn({ userId: 'feature-user' });
    return { ok: true };
  }
}

function appModule(imports: unknown[]) {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: SECRET,
        store: new MemoryStore(),
        cookie: { name: 'sid', secure: false },
        isGlobal: false,
      }),
      ...(imports as never[]),
    ],
    controllers: [RootController],
  })
  class FeatureAppModule {}
  return FeatureAppModule;
}

const sidOf = (res: request.Response) =>
  setCookies(res)
    .map(parseSetCookie)
    .find((c) => c.name === 'sid' && !c.cleared)?.pair;

describe.each(PLATFORMS)('a feature module with SessionModule.forFeature() (%s)', (platform) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp(platform, appModule([AccountsModule]));
  });
  afterAll(async () => {
    await running?.close();
  });

  it("the feature's SessionGuard closes its routes, and opens them to the root's log-in", async () => {
    const anonymous = await request(running.http).get('/accounts/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.reason).toBe('no_session');

    const login = await request(running.http).post('/login');
    expect(login.status).toBe(200);
    const me = await request(running.http).get('/accounts/me').set('Cookie', sidOf(login)!);
    expect(me.status).toBe(200);
    // The feature's service lists the session the root module's engine stored.
    expect(me.body).toEqual({ userId: 'feature-user', sessions: 1 });
  });

  it("the feature's SessionService is the root's instance: one engine per app", () => {
    const { app } = running;
    expect(app.select(AccountsModule).get(SessionService)).toBe(app.get(SessionService));
  });
});

describe('isGlobal: false really keeps the names out of other modules', () => {
  @Module({ controllers: [AccountsController], providers: [AccountsService] })
  class WithoutForFeature {}

  it('a feature module that neither imports forFeature() nor forRoot() cannot inject SessionService', async () => {
    await expect(
      NestFactory.create(appModule([WithoutForFeature]) as never, {
        logger: false,
        abortOnError: false,
      }),
    ).rejects.toThrow(/SessionService/);
  });

  it('forFeature() without forRoot() fails at start and says to import SessionModule.forRoot()', async () => {
    @Module({ imports: [SessionModule.forFeature()] })
    class Orphan {}
    await expect(
      NestFactory.create(Orphan, { logger: false, abortOnError: false }),
    ).rejects.toThrow(/SessionModule\.forRoot\(\)/);
  });
});
