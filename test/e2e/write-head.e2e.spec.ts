import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Param, ParseIntPipe, Post, Res } from '@nestjs/common';
import request from 'supertest';
import { RotateSession } from '../../lib/decorators/rotate-session.decorator.js';
import { Session } from '../../lib/decorators/session.decorator.js';
import { SessionModule } from '../../lib/session.module.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { cookiePair, idOf, mintsCookie, setCookies } from '../support/cookies.js';
import {
  PLATFORMS,
  startTestApp,
  TEST_SECRET,
  type RunningApp,
} from '../support/sample-app.harness.js';

/** Every store write takes this long: a commit not awaited before the head goes out shows up. */
const WRITE_DELAY_MS = 40;

/**
 * A real MemoryStore whose writes are slow, and fail while `down` is set, as
 * a store whose connection dropped would (the outage path answers 503).
 */
class SlowStore extends MemoryStore {
  down = false;

  private async before(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, WRITE_DELAY_MS));
    if (this.down) throw new Error('connection lost');
  }

  override async set(...args: Parameters<MemoryStore['set']>) {
    await this.before();
    return super.set(...args);
  }

  override async update(...args: Parameters<MemoryStore['update']>) {
    await this.before();
    return super.update(...args);
  }

  override async rotate(...args: Parameters<MemoryStore['rotate']>) {
    await this.before();
    return super.rotate(...args);
  }
}

/** Express `res` (a Node ServerResponse) or Fastify `reply`, as an `@Res()` handler gets it. */
interface PlatformResponse {
  raw?: unknown;
  writeHead(status: number, ...rest: unknown[]): PlatformResponse;
  write(chunk: string): unknown;
  end(chunk?: string): unknown;
  code(status: number): PlatformResponse;
  headers(values: Record<string, string>): PlatformResponse;
  header(name: string, value: string | string[]): PlatformResponse;
  send(body: string): unknown;
}

/**
 * Answers with an explicit head. Express: Node's own `writeHead()` then
 * `end()`, the call that used to send the head before the session commit.
 * Fastify: `reply.raw` bypasses Fastify's hooks, so its equivalent is a
 * reply with status and headers set at once, sent through `send()`.
 */
function answer(
  res: PlatformResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  if (res.raw === undefined) {
    res.writeHead(status, headers);
    res.end(body);
  } else {
    res.code(status).headers(headers).send(body);
  }
}

@Controller('w')
class WriteHeadController {
  @Post('login')
  async login(@Session() session: Session, @Res() res: PlatformResponse) {
    await session.logIn({ userId: 'u1', roles: ['user'] });
    answer(res, 200, { 'content-type': 'text/plain' }, 'ok');
  }

  /** writeHead(status, message, headers), chunks, end(): the whole Node API in order. */
  @Get('set')
  set(@Session() session: Session, @Res() res: PlatformResponse) {
    session.set('k', 'set');
    if (res.raw === undefined) {
      res.writeHead(201, 'Made', { 'content-type': 'text/plain', 'x-handler': 'kept' });
      res.write('a ');
      res.write('b ');
      res.end('c');
    } else {
      res.code(201).headers({ 'content-type': 'text/plain', 'x-handler': 'kept' }).send('a b c');
    }
  }

  /** The handler's own Set-Cookie and Cache-Control in the head: both must not cost the session's. */
  @Get('own-headers')
  ownHeaders(@Session() session: Session, @Res() res: PlatformResponse) {
    session.set('k', 'own-headers');
    answer(
      res,
      200,
      { 'set-cookie': 'flash=hello; Path=/', 'cache-control': 'public, max-age=600' },
      'ok',
    );
  }

  /** writeHead() with a flat header array, chained: `res.writeHead(...).end(...)`. */
  @Get('chained')
  chained(@Session() session: Session, @Res() res: PlatformResponse) {
    session.set('k', 'chained');
    const head = ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2'];
    if (res.raw === undefined) res.writeHead(200, head).end('chained');
    else
      res.header('content-type', 'text/plain').header('set-cookie', ['a=1', 'b=2']).send('chained');
  }

  /** @RotateSession() rotates only on success: the head's status is what counts. */
  @Get('rotate/:status')
  @RotateSession()
  rotate(
    @Session() session: Session,
    @Param('status', ParseIntPipe) status: number,
    @Res() res: PlatformResponse,
  ) {
    session.set('r', 'rotated');
    answer(res, status, { 'content-type': 'text/plain' }, String(status));
  }

  /** A session answered the usual way (a return value), to start from. */
  @Get('start')
  start(@Session() session: Session) {
    session.set('k', 'start');
    return { ok: true };
  }

  /** Reads only: nothing to commit, the response must not wait for anything. */
  @Get('peek')
  peek(@Session() session: Session, @Res() res: PlatformResponse) {
    answer(
      res,
      200,
      { 'content-type': 'application/json' },
      JSON.stringify(session.userId ?? null),
    );
  }

  @Get('read')
  read(@Session() session: Session) {
    return {
      k: session.get('k') ?? null,
      r: session.get('r') ?? null,
      userId: session.userId ?? null,
    };
  }
}

@Module({})
class WriteHeadAppModule {
  static register(store: SlowStore) {
    return {
      module: WriteHeadAppModule,
      imports: [SessionModule.forRoot({ secret: TEST_SECRET, store })],
      controllers: [WriteHeadController],
    };
  }
}

/**
 * The session is saved before the response goes out, also for handlers that
 * write the head themselves: on Express, `res.writeHead()` fixes status and
 * headers, so it is held with the response's `write()`/`end()` until the
 * session commit has added its Set-Cookie (or replaced the answer by a 503).
 * Fastify's equivalent, a reply with its head set at once, goes through its
 * onSend hook.
 */
describe.each(PLATFORMS)('a head written by the handler (%s)', (platform) => {
  const store = new SlowStore();
  let running: RunningApp;
  let http: string;

  beforeAll(async () => {
    running = await startTestApp(platform, WriteHeadAppModule.register(store));
    http = running.http;
  });
  afterAll(async () => {
    await running?.close();
    await store.close();
  });
  beforeEach(() => {
    store.down = false;
  });

  const read = (cookie: string) => request(http).get('/w/read').set('Cookie', cookie);

  it('log-in, then writeHead(200, headers) and end(): the session cookie arrives and works', async () => {
    const res = await request(http).post('/w/login');
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['cache-control']).toBe('no-store');
    const cookie = cookiePair(res);
    expect((await read(cookie)).body).toEqual({ k: null, r: null, userId: 'u1' });
    // a read-only request answered the same way is not held: no cookie, no wait for a write
    const started = Date.now();
    const peek = await request(http).get('/w/peek').set('Cookie', cookie);
    expect(peek.body).toBe('u1');
    expect(setCookies(peek)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(WRITE_DELAY_MS);
  });

  it('writeHead(201, message, headers), write() and end(): status line, headers, body and cookie all arrive in order', async () => {
    const res = await request(http).get('/w/set');
    expect(res.status).toBe(201);
    // superagent keeps Node's IncomingMessage as `res`, with the status line's message
    const message = (res as unknown as { res: { statusMessage: string } }).res.statusMessage;
    if (platform === 'express') expect(message).toBe('Made');
    expect(res.headers['x-handler']).toBe('kept');
    expect(res.text).toBe('a b c');
    const cookie = cookiePair(res);
    expect((await read(cookie)).body.k).toBe('set');
  });

  it('a chained writeHead(status, [name, value, ...]).end(): every header of the array and the session cookie arrive', async () => {
    const res = await request(http).get('/w/chained');
    expect(res.status).toBe(200);
    expect(res.text).toBe('chained');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(setCookies(res).filter((c) => !c.startsWith('sid='))).toEqual(['a=1', 'b=2']);
    expect((await read(cookiePair(res))).body.k).toBe('chained');
  });

  it("the handler's own Set-Cookie and Cache-Control in the head do not replace the session's", async () => {
    const res = await request(http).get('/w/own-headers');
    expect(res.status).toBe(200);
    expect(setCookies(res).filter((c) => c.startsWith('flash='))).toEqual(['flash=hello; Path=/']);
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await read(cookiePair(res))).body.k).toBe('own-headers');
  });

  it('@RotateSession() sees the status of the head: rotated on 200, kept (and the cookie alive) on 500', async () => {
    const cookie = cookiePair(await request(http).get('/w/start'));
    const failed = await request(http).get('/w/rotate/500').set('Cookie', cookie);
    expect(failed.status).toBe(500);
    expect(mintsCookie(failed)).toBe(false);
    expect((await read(cookie)).body).toMatchObject({ k: 'start', r: 'rotated' });

    // rotated: the new cookie must reach the client, since the old one dies at once
    const ok = await request(http).get('/w/rotate/200').set('Cookie', cookie);
    expect(ok.status).toBe(200);
    const rotated = cookiePair(ok);
    expect(idOf(rotated)).not.toBe(idOf(cookie));
    expect((await read(rotated)).body).toMatchObject({ k: 'start', r: 'rotated' });
    expect((await read(cookie)).body.k).toBeNull();
  });

  it('a store outage during the commit still replaces the answer by 503 + Retry-After', async () => {
    store.down = true;
    const res = await request(http).get('/w/set');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.reason).toBe('store_unavailable');
    expect(res.text).not.toContain('a b');
    expect(setCookies(res)).toEqual([]);
  });
});
