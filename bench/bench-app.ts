import 'reflect-metadata';
import {
  Body,
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
import { randomBytes } from 'node:crypto';
import {
  AccessToken,
  AccessTokenGuard,
  Session,
  SessionGuard,
  SessionModule,
  TokenService,
  type AccessTokenPrincipal,
  type SessionStore,
  type TokenPair,
} from '../lib/index.js';

/**
 * The benchmark routes, twice: with sessions (or tokens), and with the same
 * work minus the session module (the floor). Bodies match so that the only
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

/**
 * Token sessions: log-in (a new refresh-token family), refresh (redeem one
 * refresh token for the next pair) and a read behind AccessTokenGuard that
 * answers the principal.
 */
@Controller()
class TokenRoutes {
  constructor(private readonly tokens: TokenService) {}

  @Post('tokens/login')
  @HttpCode(200)
  logIn(@Body() body: { userId?: string } | undefined): Promise<TokenPair> {
    return this.tokens.logIn({ userId: body?.userId ?? 'alice', roles: ['user'] });
  }

  @Post('tokens/refresh')
  @HttpCode(200)
  refresh(@Body() body: { refreshToken?: unknown } | undefined): Promise<TokenPair> {
    return this.tokens.refresh(body?.refreshToken);
  }

  @Get('bearer')
  @UseGuards(AccessTokenGuard)
  bearer(@AccessToken() principal: AccessTokenPrincipal) {
    return principal;
  }

  /** Bench set-up, not measured: `count` distinct access tokens of one family (distinct jti). */
  @Post('tokens/batch')
  @HttpCode(200)
  async batch(@Body() body: { count?: number } | undefined): Promise<string[]> {
    const user = { userId: 'bearer-cold', roles: ['user'] };
    const { family } = await this.tokens.logIn(user);
    const tokens: string[] = [];
    for (let i = 0; i < (body?.count ?? 1); i++) {
      tokens.push((await this.tokens.issueAccessToken({ ...user, family })).token);
    }
    return tokens;
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const FLOOR_FAMILY = randomBytes(16).toString('base64url');
const FLOOR_EXP = Math.ceil(Date.now() / 1000) + 3600;
/** An access token of the real one's shape and size (an HS256 at+jwt with the same claims), never verified. */
const floorAccessToken = () =>
  [
    b64({ alg: 'HS256', typ: 'at+jwt' }),
    b64({
      sid: FLOOR_FAMILY,
      roles: ['user'],
      iss: 'https://bench.example',
      aud: 'bench-api',
      sub: 'bearer',
      jti: randomBytes(16).toString('base64url'),
      iat: FLOOR_EXP - 3600,
      exp: FLOOR_EXP,
    }),
    randomBytes(32).toString('base64url'),
  ].join('.');
const FLOOR_PAIR: TokenPair = {
  accessToken: floorAccessToken(),
  refreshToken: `${FLOOR_FAMILY}.${randomBytes(32).toString('base64url')}`,
  expiresIn: 3600,
  family: FLOOR_FAMILY,
};

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

  @Post('tokens/login')
  @HttpCode(200)
  tokenLogIn(@Body() _body: unknown) {
    return FLOOR_PAIR;
  }

  @Post('tokens/refresh')
  @HttpCode(200)
  refresh(@Body() _body: unknown) {
    return FLOOR_PAIR;
  }

  @Post('tokens/batch')
  @HttpCode(200)
  batch(@Body() body: { count?: number } | undefined) {
    return Array.from({ length: body?.count ?? 1 }, floorAccessToken);
  }

  @Get('bearer')
  bearer() {
    return {
      userId: 'bearer',
      roles: ['user'],
      family: FLOOR_FAMILY,
      expiresAt: new Date(FLOOR_EXP * 1000),
    };
  }
}

/** `tokens` of the token targets: HS256, revocation as the scenario asks, tokens outliving a run. */
function tokenOptions(revocation: 'none' | 'strict') {
  return {
    secret: 'bench-token-secret-bench-token-secret',
    issuer: 'https://bench.example',
    audience: 'bench-api',
    revocation,
    // The bearer scenarios reuse one token made at startup, for a run that may take many minutes.
    accessTtl: '1h' as const,
  };
}

@Module({})
class BenchModule {
  static register(
    store: SessionStore | undefined,
    tokens: 'none' | 'strict' | undefined,
  ): DynamicModule {
    if (!store) return { module: BenchModule, controllers: [FloorRoutes as Type] };
    const secret = 'bench-secret-bench-secret-bench-secret';
    if (tokens) {
      return {
        module: BenchModule,
        imports: [SessionModule.forRoot({ secret, store, tokens: tokenOptions(tokens) })],
        controllers: [TokenRoutes],
      };
    }
    return {
      module: BenchModule,
      imports: [SessionModule.forRoot({ secret, store })],
      controllers: [SessionRoutes],
    };
  }
}

/**
 * The floor serves every route. With a store: the cookie routes, or with
 * `tokens` (the revocation mode) the token routes instead, so the cookie
 * scenarios run on exactly the configuration they always did.
 */
export async function startBenchApp(options: {
  platform: 'express' | 'fastify';
  store?: SessionStore;
  tokens?: 'none' | 'strict';
  port: number;
}) {
  const module = BenchModule.register(options.store, options.tokens);
  const app =
    options.platform === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(module, { logger: false });
  await app.listen(options.port, '127.0.0.1');
  return app;
}
