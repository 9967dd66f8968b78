import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Module,
  Post,
  Redirect,
  Res,
} from '@nestjs/common';
import request from 'supertest';
import { RotateSession } from '../../lib/decorators/rotate-session.decorator.js';
import { Session } from '../../lib/decorators/session.decorator.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { SessionModule } from '../../lib/session.module.js';
import { SessionStore } from '../../lib/stores/session-store.interface.js';
import { cookiePair, idOf, mintsCookie, sessionCookie, setCookies } from '../support/cookies.js';
import { CountingStore } from '../support/counting.store.js';
import {
  PLATFORMS,
  startTestApp,
  TEST_SECRET,
  type RunningApp,
} from '../support/sample-app.harness.js';

/** Every store write takes this long: a commit not awaited before the response shows up as lost. */
const WRITE_DELAY_MS = 50;

/** Express `res` or Fastify `reply`, as an `@Res()` handler gets it. */
interface PlatformResponse {
  status(code: number): PlatformResponse;
  send(body: unknown): unknown;
  redirect(...args: unknown[]): unknown;
  raw?: unknown;
}
const redirectTo = (res: PlatformResponse, url: string) =>
  // Fastify: reply.redirect(url, code); Express: res.redirect(code, url)
  res.raw !== undefined ? res.redirect(url, 302) : res.redirect(302, url);

@Controller('t')
class TimingController {
  constructor(@Inject(SessionStore) private readonly store: CountingStore) {}

  @Post('login')
  @HttpCode(200)
  async login(@Session() session: Session) {
    await session.logIn({ userId: 'u1', roles: ['user'] });
    return { ok: true };
  }

  @Get('read')
  read(@Session() session: Session) {
    return {
      k: session.get('k') ?? null,
      r: session.get('r') ?? null,
      r2: session.get('r2') ?? null,
      userId: session.userId ?? null,
    };
  }

  /** (a) a plain return value */
  @Get('plain')
  plain(@Session() session: Session) {
    session.set('k', 'plain');
    return { ok: true };
  }

  /** (b) Nest's @Redirect() */
  @Get('redirect')
  @Redirect('/t/read', 302)
  redirect(@Session() session: Session) {
    session.set('k', 'redirect');
  }

  /** (b') the platform's own redirect from an @Res() handler */
  @Get('res-redirect')
  resRedirect(@Session() session: Session, @Res() res: PlatformResponse) {
    session.set('k', 'res-redirect');
    redirectTo(res, '/t/read');
  }

  /** (c) an @Res() handler writing the response itself */
  @Get('res')
  resSend(@Session() session: Session, @Res() res: PlatformResponse) {
    session.set('k', 'res');
    res.status(201).send({ own: true });
  }

  /** (c') ... after an await, from a later tick */
  @Get('res-async')
  async resAsync(@Session() session: Session, @Res() res: PlatformResponse) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    session.set('k', 'res-async');
    res.status(200).send({ own: true });
  }

  /** (d) a session write, then an HttpException */
  @Get('throw')
  throwAfterWrite(@Session() session: Session) {
    session.set('k', 'throw');
    throw new HttpException({ statusCode: 409, message: 'conflict after write' }, 409);
  }

  /** (d') ... from an async handler */
  @Get('throw-async')
  async throwAsync(@Session() session: Session) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    session.set('k', 'throw-async');
    throw new BadRequestException('bad after write');
  }

  @Post('rotate')
  @HttpCode(200)
  @RotateSession()
  rotate(@Session() session: Session) {
    session.set('r', 'rotated');
    return { ok: true };
  }

  @Post('rotate-fail')
  @RotateSession()
  rotateFail(@Session() session: Session) {
    session.set('r2', 'written before the error');
    throw new BadRequestException('no rotation on errors');
  }

  /** save() before streaming through the raw Node response (no platform send at all). */
  @Get('save-stream')
  async saveStream(@Session() session: Session, @Res() res: PlatformResponse) {
    session.set('k', 'save-stream');
    await session.save();
    const raw = (res.raw ?? res) as import('node:http').ServerResponse;
    raw.writeHead(200, { 'content-type': 'text/plain' });
    raw.write('chunk-1 ');
    raw.end('chunk-2');
  }

  /** save(): commits now, inside the handler; later changes are committed at the end as usual. */
  @Get('save')
  async save(@Session() session: Session) {
    session.set('k', 'save');
    const before = this.store.writes();
    await session.save();
    const writesBySave = this.store.writes() - before;
    session.set('r', 'after-save');
    return { writesBySave, idAfterSave: session.id !== undefined };
  }
}

@Module({})
class TimingAppModule {
  static register(store: CountingStore) {
    return {
      module: TimingAppModule,
      imports: [SessionModule.forRoot({ secret: TEST_SECRET, store })],
      controllers: [TimingController],
    };
  }
}

/**
 * Rule 7 on both platforms, with a test-only app: the Set-Cookie header and
 * the store write are done before the response leaves, whoever sends it. The
 * store delays every write; the response must still arrive with the write
 * already in the store and a cookie that works on the very next request.
 */
describe.each(PLATFORMS)('commit before the response is sent (%s)', (platform) => {
  const store = new CountingStore({ writeDelayMs: WRITE_DELAY_MS });
  let running: RunningApp;
  let http: string;

  beforeAll(async () => {
    running = await startTestApp(platform, TimingAppModule.register(store));
    http = running.http;
  });
  afterAll(async () => {
    await running?.close();
    await store.close();
  });
  beforeEach(() => store.reset());

  const read = (cookie: string) => request(http).get('/t/read').set('Cookie', cookie);
  const stored = async (cookie: string, key: string) =>
    (await store.inner.get(sessionStoreKey(idOf(cookie))))?.data[key];
  const loggedIn = async () => cookiePair(await request(http).post('/t/login'));

  const routes = [
    ['(a) a plain return', '/t/plain', 200, 'plain'],
    ['(b) @Redirect()', '/t/redirect', 302, 'redirect'],
    ['(b) res.redirect() in an @Res() handler', '/t/res-redirect', 302, 'res-redirect'],
    ['(c) an @Res() handler sending itself', '/t/res', 201, 'res'],
    ['(c) an async @Res() handler', '/t/res-async', 200, 'res-async'],
    ['(d) a write, then an HttpException', '/t/throw', 409, 'throw'],
    ['(d) an async write, then an HttpException', '/t/throw-async', 400, 'throw-async'],
  ] as const;

  it.each(routes)(
    '%s: a new session is in the store and its cookie works on the next request',
    async (_name, path, status, value) => {
      const res = await request(http).get(path);
      expect(res.status).toBe(status);
      if (status === 302) expect(res.headers.location).toBe('/t/read');
      const cookie = cookiePair(res);
      // already written when the response arrived (the write takes WRITE_DELAY_MS)
      expect(await stored(cookie, 'k')).toBe(JSON.stringify(value));
      expect(store.nonZero()).toEqual({ set: 1 });
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await read(cookie)).body.k).toBe(value);
    },
  );

  it.each(routes)(
    '%s: a change to an existing session is saved before the response',
    async (_name, path, status, value) => {
      const cookie = await loggedIn();
      store.reset();
      const res = await request(http).get(path).set('Cookie', cookie);
      expect(res.status).toBe(status);
      expect(mintsCookie(res)).toBe(false); // same session, same cookie
      expect(store.nonZero()).toEqual({ get: 1, update: 1 });
      expect(await stored(cookie, 'k')).toBe(JSON.stringify(value));
      const next = await read(cookie);
      expect(next.body).toMatchObject({ k: value, userId: 'u1' });
    },
  );

  it('log-in: the rotated cookie is committed before the response', async () => {
    const anonymous = cookiePair(await request(http).get('/t/plain'));
    const res = await request(http).post('/t/login').set('Cookie', anonymous);
    const cookie = cookiePair(res);
    expect(idOf(cookie)).not.toBe(idOf(anonymous));
    expect(await store.inner.get(sessionStoreKey(idOf(anonymous)))).toBeNull();
    expect((await read(cookie)).body).toMatchObject({ userId: 'u1', k: null });
  });

  it('a read-only request is not held up and sets no cookie', async () => {
    const cookie = await loggedIn();
    store.reset();
    const started = Date.now();
    const res = await read(cookie);
    expect(res.status).toBe(200);
    expect(setCookies(res)).toEqual([]);
    expect(store.nonZero()).toEqual({ get: 1 });
    expect(Date.now() - started).toBeLessThan(WRITE_DELAY_MS);
  });

  describe('@RotateSession()', () => {
    it('rotates the ID after a successful handler, keeping the data; the old cookie dies at once', async () => {
      const cookie = await loggedIn();
      await request(http).get('/t/plain').set('Cookie', cookie);
      store.reset();
      const res = await request(http).post('/t/rotate').set('Cookie', cookie);
      expect(res.status).toBe(200);
      const rotated = cookiePair(res);
      expect(idOf(rotated)).not.toBe(idOf(cookie));
      expect(store.nonZero()).toEqual({ get: 1, rotate: 1 });
      expect((await read(rotated)).body).toEqual({
        k: 'plain',
        r: 'rotated',
        r2: null,
        userId: 'u1',
      });
      expect((await read(cookie)).body).toEqual({ k: null, r: null, r2: null, userId: null });
    });

    it('does not rotate when the handler throws (the write before the error is still saved)', async () => {
      const cookie = await loggedIn();
      const res = await request(http).post('/t/rotate-fail').set('Cookie', cookie);
      expect(res.status).toBe(400);
      expect(mintsCookie(res)).toBe(false);
      expect(store.calls.rotate).toBe(0);
      expect((await read(cookie)).body).toMatchObject({
        userId: 'u1',
        r2: 'written before the error',
      });
    });

    it('without a session, creates one on write but has nothing to rotate', async () => {
      const res = await request(http).post('/t/rotate');
      expect(res.status).toBe(200);
      const cookie = cookiePair(res);
      expect(store.calls.rotate).toBe(0);
      expect((await read(cookie)).body.r).toBe('rotated');
    });
  });

  describe('session.save()', () => {
    it('commits inside the handler (store write done when save() resolves), cookie included in the response', async () => {
      const res = await request(http).get('/t/save');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ writesBySave: 1, idAfterSave: true });
      const cookies = setCookies(res).filter((c) => c.startsWith('sid='));
      expect(cookies).toHaveLength(1); // the save's cookie; the final commit only updates
      const cookie = cookiePair(res);
      expect((await read(cookie)).body).toMatchObject({ k: 'save', r: 'after-save' });
    });

    it('before streaming through the raw response: the cookie is in the streamed response', async () => {
      const res = await request(http).get('/t/save-stream');
      expect(res.status).toBe(200);
      expect(res.text).toBe('chunk-1 chunk-2');
      expect(setCookies(res).filter((c) => c.startsWith('sid='))).toHaveLength(1);
      const cookie = cookiePair(res);
      expect((await read(cookie)).body.k).toBe('save-stream');
    });

    it('on an existing session, writes the change at save() and the rest before the response', async () => {
      const cookie = await loggedIn();
      store.reset();
      const res = await request(http).get('/t/save').set('Cookie', cookie);
      expect(res.body).toEqual({ writesBySave: 1, idAfterSave: true });
      expect(store.nonZero()).toEqual({ get: 1, update: 2 });
      expect(sessionCookie(res)).toBeUndefined();
      expect((await read(cookie)).body).toMatchObject({ k: 'save', r: 'after-save', userId: 'u1' });
    });
  });
});
