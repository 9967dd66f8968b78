import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { SessionContexts } from '../http/session-contexts.js';
import { SessionModule } from '../session.module.js';
import { MemoryStore } from '../stores/memory.store.js';
import { Session } from './session.decorator.js';

const SECRET = 'decorator-spec-secret-0123456789-abcdef';

@Controller()
class VisitController {
  @Get('visit')
  visit(@Session() session: Session<{ visits: number }>) {
    const visits = (session.get('visits') ?? 0) + 1;
    session.set('visits', visits);
    return { visits };
  }
}

async function startApp(platform: 'express' | 'fastify', cookieName: string) {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: SECRET,
        store: new MemoryStore(),
        cookie: { name: cookieName },
      }),
    ],
    controllers: [VisitController],
  })
  class AppModule {}
  const app =
    platform === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(AppModule, { logger: false });
  await app.init();
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

const cookieOf = (res: { headers: Record<string, unknown> }) =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? []);

/**
 * `@Session()` has no injector: it finds its module through the request
 * (the platform's request prototype). Two apps in one process, each with
 * its own SessionModule, must each get their own.
 */
describe.each(['express', 'fastify'] as const)(
  '@Session() with two apps in one process (%s)',
  (platform) => {
    let first: INestApplication;
    let second: INestApplication;

    beforeAll(async () => {
      first = await startApp(platform, 'first_sid');
      second = await startApp(platform, 'second_sid');
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
    });

    it("each app's sessions come from its own module (own cookie name, own store)", async () => {
      const a = await request(first.getHttpServer()).get('/visit');
      const b = await request(second.getHttpServer()).get('/visit');
      expect(cookieOf(a).map((c) => c.split('=')[0])).toEqual(['first_sid']);
      expect(cookieOf(b).map((c) => c.split('=')[0])).toEqual(['second_sid']);
      // A's cookie means nothing to B: B's store never saw it.
      const again = await request(second.getHttpServer())
        .get('/visit')
        .set('Cookie', cookieOf(a)[0].split(';')[0].replace('first_sid', 'second_sid'));
      expect(again.body).toEqual({ visits: 1 });
      const own = await request(first.getHttpServer())
        .get('/visit')
        .set('Cookie', cookieOf(a)[0].split(';')[0]);
      expect(own.body).toEqual({ visits: 2 });
    });
  },
);

describe('SessionContexts.fromAnyExecutionContext', () => {
  it('refuses contexts other than HTTP, naming the context type', () => {
    const host = new ExecutionContextHost([{ headers: {} }, {}]);
    host.setType('rpc');
    expect(() => SessionContexts.fromAnyExecutionContext(host)).toThrow(
      "Sessions are available in HTTP requests and GraphQL operations only, not in 'rpc' contexts.",
    );
  });

  it('explains what to do when the app has no SessionModule', () => {
    const host = new ExecutionContextHost([{ headers: {} }, {}]);
    expect(() => SessionContexts.fromAnyExecutionContext(host)).toThrow(
      /SessionModule is not bound to an HTTP platform yet\. Potential solutions: import SessionModule\.forRoot\(\)/,
    );
  });
});
