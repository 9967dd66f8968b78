import 'reflect-metadata';
import {
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session from 'express-session';
import { createClient } from 'redis';

type PeerRequest = {
  session: session.Session & { userId?: string; counter?: number };
};

/** The bench routes on express-session, written the way its docs and the seed tutorial do. */
@Controller()
class PeerRoutes {
  @Get('anon')
  anon(@Req() req: PeerRequest) {
    return { userId: req.session.userId ?? null };
  }

  @Get('read')
  read(@Req() req: PeerRequest) {
    if (!req.session.userId) throw new UnauthorizedException();
    return { userId: req.session.userId };
  }

  @Post('write')
  @HttpCode(200)
  write(@Req() req: PeerRequest) {
    if (!req.session.userId) throw new UnauthorizedException();
    req.session.counter = (req.session.counter ?? 0) + 1;
    return { counter: req.session.counter };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: PeerRequest) {
    // Rotate the ID on log-in, as the tutorial does.
    await new Promise<void>((resolve, reject) =>
      req.session.regenerate((error) => (error ? reject(error) : resolve())),
    );
    req.session.userId = 'alice';
    return { userId: 'alice' };
  }
}

@Module({ controllers: [PeerRoutes] })
class PeerModule {}

/**
 * express-session + connect-redis 10 with a node-redis client (connect-redis
 * no longer speaks ioredis), configured as the seed tutorial does:
 * `resave: false`, `saveUninitialized: false`, `rolling: true`.
 */
export async function startPeerApp(options: { port: number; redisUrl: string }) {
  const client = createClient({ url: options.redisUrl });
  await client.connect();
  const app = await NestFactory.create(PeerModule, { logger: false });
  app.use(
    session({
      store: new ConnectRedisStore({ client, prefix: 'peer:' }),
      name: 'sid',
      secret: 'bench-secret-bench-secret-bench-secret',
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { maxAge: 2 * 60 * 60 * 1000, httpOnly: true, sameSite: 'lax' },
    }),
  );
  await app.listen(options.port, '127.0.0.1');
  return app;
}
