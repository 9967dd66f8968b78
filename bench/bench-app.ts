import 'reflect-metadata';
import {
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  UseGuards,
  type DynamicModule,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Session, SessionGuard, SessionModule, type SessionStore } from '../lib/index.js';

/**
 * The four benchmark routes, twice: with sessions, and with the same work
 * minus the session module (the floor). Bodies match so that the only
 * difference measured is the session layer.
 */
@Controller()
class SessionRoutes {
  /** Anonymous visitor: the route asks for its session, the request has no cookie. */
  @Get('anon')
  anon(@Session() session: Session) {
    return { userId: session.userId ?? null };
  }

  @Get('read')
  @UseGuards(SessionGuard)
  read(@Session() session: Session) {
    return { userId: session.userId ?? null };
  }

  @Post('write')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  write(@Session() session: Session<{ counter: number }>) {
    const counter = (session.get('counter') ?? 0) + 1;
    session.set('counter', counter);
    return { counter };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Session() session: Session) {
    await session.logIn({ userId: 'alice', roles: ['user'] });
    return { userId: 'alice' };
  }
}

@Controller()
class FloorRoutes {
  private counter = 0;

  @Get('anon')
  anon() {
    return { userId: null };
  }

  @Get('read')
  read() {
    return { userId: 'alice' };
  }

  @Post('write')
  @HttpCode(200)
  write() {
    return { counter: ++this.counter };
  }

  @Post('login')
  @HttpCode(200)
  login() {
    return { userId: 'alice' };
  }
}

@Module({})
class BenchModule {
  static register(store: SessionStore | undefined): DynamicModule {
    if (!store) return { module: BenchModule, controllers: [FloorRoutes as Type] };
    return {
      module: BenchModule,
      imports: [SessionModule.forRoot({ secret: 'bench-secret-bench-secret-bench-secret', store })],
      controllers: [SessionRoutes],
    };
  }
}

export async function startBenchApp(options: {
  platform: 'express' | 'fastify';
  store?: SessionStore;
  port: number;
}) {
  const module = BenchModule.register(options.store);
  const app =
    options.platform === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(module, { logger: false });
  await app.listen(options.port, '127.0.0.1');
  return app;
}
