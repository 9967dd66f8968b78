import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Session } from './decorators/session.decorator.js';
import { RESOLVED_SESSION_OPTIONS } from './session.constants.js';
import { SessionOptionsError } from './session.errors.js';
import type { SessionOptionsFactory } from './session.module-definition.js';
import { SessionModule } from './session.module.js';
import type { ResolvedSessionOptions, SessionModuleOptions } from './session.options.js';
import type { Duration } from './utils/duration.js';
import { MemoryStore } from './stores/memory.store.js';

const SECRET = 'module-spec-secret-0123456789-abcdefgh';

/** What an app's own config module would provide; the options factory injects it. */
const APP_CONFIG = Symbol('app-config');
interface AppConfig {
  cookieName: string;
  idleTimeout: Duration;
}

@Module({
  providers: [{ provide: APP_CONFIG, useValue: { cookieName: 'app_sid', idleTimeout: '10m' } }],
  exports: [APP_CONFIG],
})
class ConfigModule {}

@Injectable()
class SessionConfig implements SessionOptionsFactory {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async createSessionOptions(): Promise<SessionModuleOptions> {
    return {
      secret: SECRET,
      store: new MemoryStore(),
      idleTimeout: this.config.idleTimeout,
      cookie: { name: this.config.cookieName },
    };
  }
}

@Controller()
class VisitController {
  @Get('visit')
  visit(@Session() session: Session<{ visits: number }>) {
    const visits = (session.get('visits') ?? 0) + 1;
    session.set('visits', visits);
    return { visits };
  }
}

const setCookies = (res: { headers: Record<string, unknown> }) =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? []);

describe('SessionModule.forRootAsync: useClass / useExisting call createSessionOptions()', () => {
  it('useClass: the factory gets its dependencies, and its options are the resolved ones', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRootAsync({ imports: [ConfigModule], useClass: SessionConfig })],
    }).compile();
    const resolved = moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS);
    expect(resolved).toMatchObject({
      secrets: [SECRET],
      idleTimeoutMs: 10 * 60_000,
      touchAfterMs: 5 * 60_000,
      cookie: { name: 'app_sid' },
    });
    await moduleRef.close();
  });

  it('useExisting: a factory the imported module already provides', async () => {
    @Module({ imports: [ConfigModule], providers: [SessionConfig], exports: [SessionConfig] })
    class SessionConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRootAsync({ imports: [SessionConfigModule], useExisting: SessionConfig }),
      ],
    }).compile();
    expect(moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS).cookie.name).toBe(
      'app_sid',
    );
    await moduleRef.close();
  });

  describe.each(['express', 'fastify'] as const)('an app built with useClass (%s)', (platform) => {
    let app: INestApplication | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('sets the cookie the factory named', async () => {
      @Module({
        imports: [SessionModule.forRootAsync({ imports: [ConfigModule], useClass: SessionConfig })],
        controllers: [VisitController],
      })
      class AppModule {}
      app =
        platform === 'fastify'
          ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })
          : await NestFactory.create(AppModule, { logger: false });
      await app.init();
      if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();

      const first = await request(app.getHttpServer()).get('/visit').expect(200, { visits: 1 });
      const cookies = setCookies(first);
      expect(cookies.map((c) => c.split('=')[0])).toEqual(['app_sid']);
      await request(app.getHttpServer())
        .get('/visit')
        .set('Cookie', cookies[0].split(';')[0])
        .expect(200, { visits: 2 });
    });
  });

  it('a bad option from useClass rejects app creation with the one error naming every problem', async () => {
    @Injectable()
    class BadSessionConfig implements SessionOptionsFactory {
      createSessionOptions(): SessionModuleOptions {
        return {
          secret: SECRET,
          rotation: { every: '10s', grace: '1m' },
          bruteForce: { maxFailures: 0 },
          cookie: { name: '__Host-sid', secure: false },
        };
      }
    }
    @Module({ imports: [SessionModule.forRootAsync({ useClass: BadSessionConfig })] })
    class BadApp {}
    const creating = NestFactory.create(BadApp, { logger: false, abortOnError: false });
    const error = await creating.then(
      async (created) => {
        await created.close();
        throw new Error('expected NestFactory.create() to reject');
      },
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(SessionOptionsError);
    expect((error as SessionOptionsError).problems).toEqual([
      'bruteForce.maxFailures must be a positive integer',
      "cookie.name '__Host-sid' has a __Host-/__Secure- prefix, which requires cookie.secure: true",
      'rotation.grace must be shorter than rotation.every',
    ]);
    expect((error as Error).message).toMatch(/^Invalid SessionModule options:/);
  });
});
