import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportSerializer, PassportStrategy } from '@nestjs/passport';
import type { AddressInfo } from 'node:net';
import passport from 'passport';
import { Strategy } from 'passport-local';
import request from 'supertest';
import {
  Session,
  SessionGuard,
  SessionModule,
  SessionService,
  type ExpressSession,
} from '../../lib/index.js';
import { cookiePair, sessionCookie } from '../support/cookies.js';
import { captureNestLogs } from '../support/log-capture.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';

/**
 * Issue 12 item 4, Passport on this module's sessions (Express and Fastify):
 * - the recipe: `AuthGuard('local')` (no Passport session) checks the
 *   password, the handler calls `session.logIn()`;
 * - the bridge (`expressSessionCompat: true`): Passport's own session flow,
 *   `super.logIn(request)` in a LocalAuthGuard, a PassportSerializer, and
 *   `passport.session()` restoring `req.user`, on a real logged-in session of
 *   the module (new ID at log-in, SessionGuard, listForUser, revocation).
 */

const SECRET = 'passport-spec-secret-0123456789-abcdefghijkl';

interface User {
  id: string | number;
  name: string;
  password: string;
}

const USERS: User[] = [
  { id: 'u-alice', name: 'Alice', password: 'alice-pw' },
  { id: 7, name: 'Bob', password: 'bob-pw' },
];

/** How often Passport asked the app to deserialize a user (the bridge's later requests do). */
const deserialized = { count: 0 };

interface PassportRequest {
  user?: { id: string | number; name: string } | null;
  session: ExpressSession;
  logout(done: (error?: unknown) => void): void;
}

@Injectable()
class LocalStrategy extends PassportStrategy(Strategy) {
  validate(username: string, password: string): Omit<User, 'password'> {
    const user = USERS.find((u) => u.name.toLowerCase() === username && u.password === password);
    if (!user) throw new UnauthorizedException();
    return { id: user.id, name: user.name };
  }
}

// ---- the recipe: Passport checks the password, the module keeps the session ----

@Controller('recipe')
class RecipeController {
  @Post('login')
  @HttpCode(200)
  @UseGuards(AuthGuard('local'))
  async login(@Req() req: { user: { id: string | number } }, @Session() session: Session) {
    await session.logIn({ userId: req.user.id });
    return { userId: session.userId };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session() session: Session) {
    return { userId: session.userId };
  }
}

@Module({
  imports: [SessionModule.forRoot({ secret: SECRET, expirySweep: false })],
  controllers: [RecipeController],
  providers: [LocalStrategy],
})
class RecipeAppModule {}

// ---- the bridge: Passport's session flow on the express-session facade ----

/** Nest's documented LocalAuthGuard: authenticate, then `super.logIn()` opens Passport's session. */
@Injectable()
class LocalAuthGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const result = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest());
    return result;
  }
}

/** Passport's `keepSessionInfo`: the pre-login data is copied into the new session. */
@Injectable()
class KeepingLocalAuthGuard extends LocalAuthGuard {
  constructor() {
    super({ keepSessionInfo: true });
  }
}

/** `passport.session()` as a guard (both platforms: on Fastify it needs the FastifyRequest). */
@Injectable()
class PassportSessionGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    await new Promise<void>((resolve, reject) =>
      passport.session()(http.getRequest(), http.getResponse(), (error?: unknown) =>
        error ? reject(error as Error) : resolve(),
      ),
    );
    return true;
  }
}

@Injectable()
class SessionSerializer extends PassportSerializer {
  serializeUser(user: { id: string | number }, done: (err: unknown, id?: unknown) => void) {
    done(null, user.id);
  }

  deserializeUser(id: string | number, done: (err: unknown, user?: unknown) => void) {
    deserialized.count++;
    const user = USERS.find((u) => u.id === id);
    done(null, user ? { id: user.id, name: user.name } : null);
  }
}

@Controller()
class BridgeController {
  /** Anonymous visit: a pre-login session with data. */
  @Post('visit')
  @HttpCode(200)
  visit(@Req() req: PassportRequest) {
    req.session.cart = ['book'];
    return { ok: true };
  }

  @Post('login')
  @HttpCode(200)
  @UseGuards(LocalAuthGuard)
  login(@Req() req: PassportRequest) {
    return { user: req.user, keys: Object.keys(req.session) };
  }

  @Post('login-keep')
  @HttpCode(200)
  @UseGuards(KeepingLocalAuthGuard)
  loginKeep(@Req() req: PassportRequest) {
    return { user: req.user, cart: req.session.cart ?? null };
  }

  /** `req.user` restored by Passport's session strategy through deserializeUser. */
  @Get('profile')
  @UseGuards(PassportSessionGuard)
  profile(@Req() req: PassportRequest) {
    return { user: req.user ?? null, cart: req.session.cart ?? null };
  }

  /** No guard: `req.user` only if a middleware (`app.use(passport.session())`) restored it. */
  @Get('whoami')
  whoami(@Req() req: PassportRequest) {
    return { user: req.user ?? null };
  }

  /** The module's own guard: the Passport log-in is a log-in of the module's session. */
  @Get('guarded')
  @UseGuards(SessionGuard)
  guarded(@Session() session: Session) {
    return { userId: session.userId, authenticated: session.isAuthenticated };
  }

  @Post('logout')
  @HttpCode(200)
  @UseGuards(PassportSessionGuard)
  logout(@Req() req: PassportRequest) {
    return new Promise((resolve, reject) =>
      req.logout((error) => (error ? reject(error as Error) : resolve({ ok: true }))),
    );
  }
}

@Module({
  imports: [
    SessionModule.forRoot({ secret: SECRET, expirySweep: false, expressSessionCompat: true }),
  ],
  controllers: [BridgeController],
  providers: [
    LocalStrategy,
    SessionSerializer,
    LocalAuthGuard,
    KeepingLocalAuthGuard,
    PassportSessionGuard,
  ],
})
class BridgeAppModule {}

describe.each(PLATFORMS)('Passport recipe: AuthGuard(local) + session.logIn() (%s)', (platform) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp(platform, RecipeAppModule);
  });
  afterAll(async () => {
    await running?.close();
  });

  it('a wrong password is a 401 and opens no session', async () => {
    const res = await request(running.http)
      .post('/recipe/login')
      .send({ username: 'alice', password: 'nope' });
    expect(res.status).toBe(401);
    expect(sessionCookie(res)).toBeUndefined();
  });

  it('the right password logs the user into a session of the module', async () => {
    const res = await request(running.http)
      .post('/recipe/login')
      .send({ username: 'alice', password: 'alice-pw' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'u-alice' });
    const cookie = cookiePair(res);
    const me = await request(running.http).get('/recipe/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ userId: 'u-alice' });
    expect((await request(running.http).get('/recipe/me')).status).toBe(401);
    const service = running.app.get(SessionService);
    expect((await service.listForUser('u-alice')).length).toBeGreaterThanOrEqual(1);
  });
});

describe.each(PLATFORMS)('Passport bridge: Passport sessions on the module (%s)', (platform) => {
  let running: RunningApp;
  const http = () => request(running.http);

  beforeAll(async () => {
    running = await startTestApp(platform, BridgeAppModule);
  });
  afterAll(async () => {
    await running?.close();
  });

  async function logIn(username: string, password: string, cookie?: string) {
    const req = http().post('/login').send({ username, password });
    const res = await (cookie ? req.set('Cookie', cookie) : req);
    expect(res.status).toBe(200);
    return res;
  }

  it('a wrong password is a 401 and leaves the pre-login session alone', async () => {
    const before = cookiePair(await http().post('/visit'));
    const res = await http()
      .post('/login')
      .set('Cookie', before)
      .send({ username: 'alice', password: 'nope' });
    expect(res.status).toBe(401);
    expect((await http().get('/profile').set('Cookie', before)).body).toEqual({
      user: null,
      cart: ['book'],
    });
  });

  it('log-in rotates the ID: a new cookie, and the pre-login cookie is dead', async () => {
    const before = cookiePair(await http().post('/visit'));
    const res = await logIn('alice', 'alice-pw', before);
    expect(res.body).toEqual({ user: { id: 'u-alice', name: 'Alice' }, keys: ['passport'] });
    const after = cookiePair(res);
    expect(after).not.toBe(before);
    const old = await http().get('/profile').set('Cookie', before);
    expect(old.body).toEqual({ user: null, cart: null });
    expect((await http().get('/guarded').set('Cookie', before)).status).toBe(401);
  });

  it('keepSessionInfo: the pre-login data survive in the new session (and only there)', async () => {
    const before = cookiePair(await http().post('/visit'));
    const res = await http()
      .post('/login-keep')
      .set('Cookie', before)
      .send({ username: 'alice', password: 'alice-pw' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: { id: 'u-alice', name: 'Alice' }, cart: ['book'] });
    const after = cookiePair(res);
    expect(after).not.toBe(before);
    expect((await http().get('/profile').set('Cookie', after)).body).toEqual({
      user: { id: 'u-alice', name: 'Alice' },
      cart: ['book'],
    });
    expect((await http().get('/profile').set('Cookie', before)).body.cart).toBeNull();
  });

  it('later requests get req.user through deserializeUser', async () => {
    const cookie = cookiePair(await logIn('alice', 'alice-pw'));
    const count = deserialized.count;
    const res = await http().get('/profile').set('Cookie', cookie);
    expect(res.body).toEqual({ user: { id: 'u-alice', name: 'Alice' }, cart: null });
    expect(deserialized.count).toBe(count + 1);
  });

  it('it is a logged-in session of the module: SessionGuard passes, listForUser lists it', async () => {
    const service = running.app.get(SessionService);
    const listed = (await service.listForUser('u-alice')).length;
    const cookie = cookiePair(await logIn('alice', 'alice-pw'));
    const res = await http().get('/guarded').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'u-alice', authenticated: true });
    expect(await service.listForUser('u-alice')).toHaveLength(listed + 1);
  });

  it('a numeric user ID is the module user "7"', async () => {
    const cookie = cookiePair(await logIn('bob', 'bob-pw'));
    expect((await http().get('/guarded').set('Cookie', cookie)).body).toEqual({
      userId: '7',
      authenticated: true,
    });
    expect((await http().get('/profile').set('Cookie', cookie)).body.user).toEqual({
      id: 7,
      name: 'Bob',
    });
    const service = running.app.get(SessionService);
    expect((await service.listForUser(7)).length).toBeGreaterThanOrEqual(1);
  });

  it('req.logout() ends the session', async () => {
    const service = running.app.get(SessionService);
    const cookie = cookiePair(await logIn('alice', 'alice-pw'));
    const listed = (await service.listForUser('u-alice')).length;
    const res = await http().post('/logout').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(sessionCookie(res)?.cleared).toBe(true);
    expect((await http().get('/guarded').set('Cookie', cookie)).status).toBe(401);
    expect((await http().get('/profile').set('Cookie', cookie)).body.user).toBeNull();
    expect(await service.listForUser('u-alice')).toHaveLength(listed - 1);
  });

  it('revokeAllForUser() ends Passport sessions too', async () => {
    const cookie = cookiePair(await logIn('alice', 'alice-pw'));
    const service = running.app.get(SessionService);
    expect(await service.revokeAllForUser('u-alice')).toBeGreaterThanOrEqual(1);
    const guarded = await http().get('/guarded').set('Cookie', cookie);
    expect(guarded.status).toBe(401);
    expect(guarded.body.reason).toBe('revoked');
    expect((await http().get('/profile').set('Cookie', cookie)).body.user).toBeNull();
  });
});

describe('Passport bridge with app.use(passport.session()) in main.ts (express)', () => {
  let app: INestApplication;
  let http: string;

  beforeAll(async () => {
    app = await NestFactory.create(BridgeAppModule, { logger: captureNestLogs() });
    // As Nest's Passport docs have it: before app.init(), so before every route.
    app.use(passport.session());
    await app.init();
    await app.listen(0, '127.0.0.1');
    http = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('the session is loaded before main.ts middleware, so req.user is restored', async () => {
    const login = await request(http)
      .post('/login')
      .send({ username: 'alice', password: 'alice-pw' });
    const cookie = cookiePair(login);
    const res = await request(http).get('/guarded').set('Cookie', cookie);
    expect(res.body).toEqual({ userId: 'u-alice', authenticated: true });
    const whoami = await request(http).get('/whoami').set('Cookie', cookie);
    expect(whoami.body.user).toEqual({ id: 'u-alice', name: 'Alice' });
    expect((await request(http).get('/whoami')).body.user).toBeNull();
  });
});
