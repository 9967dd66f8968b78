import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Module,
  Session as NestSession,
  Post,
  Req,
  Res,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import expressSession from 'express-session';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import request from 'supertest';
import {
  MemoryStore,
  REQ_SESSION_OFF_MESSAGE,
  Session,
  SessionModule,
  SessionOptionsError,
  type ExpressSession,
} from '../../lib/index.js';
import { resolveSessionOptions } from '../../lib/session.options.js';
import { CountingStore } from '../support/counting.store.js';
import { cookiePair, sessionCookie } from '../support/cookies.js';
import { captureNestLogs, fileLog } from '../support/log-capture.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';

/**
 * Issue 12 item 5: `expressSessionCompat: true` gives every request an
 * express-session compatible `req.session` backed by the module's session
 * (Express and Fastify); without it, touching `req.session` throws an error
 * that names the module's `@Session()` and the option.
 */

const SECRET = 'express-session-facade-spec-secret-0123456789';

interface SessionRequest {
  session: ExpressSession;
}

/** A reply both platforms can answer through `@Res()`: Express's `json`, Fastify's `send`. */
interface AnyReply {
  json?: (body: unknown) => void;
  send: (body: unknown) => void;
  header?: (name: string, value: string) => unknown;
  type?: (value: string) => unknown;
}

function reply(res: AnyReply, body: unknown): void {
  if (typeof res.json === 'function') res.json(body);
  else res.send(body);
}

let store = new CountingStore();

@Controller()
class FacadeController {
  @Post('cart')
  @HttpCode(200)
  add(@Req() req: SessionRequest) {
    const cart = (req.session.cart as string[] | undefined) ?? [];
    req.session.cart = [...cart, `item-${cart.length + 1}`];
    return { cart: req.session.cart };
  }

  /** A value read from the store and changed in place, as Passport does with `passport.user`. */
  @Post('nested')
  @HttpCode(200)
  nested(@Req() req: SessionRequest) {
    if (!req.session.profile) req.session.profile = { visits: 0, tags: [] };
    const profile = req.session.profile as { visits: number; tags: string[] };
    profile.visits += 1;
    profile.tags.push(`t${profile.visits}`);
    return { ok: true };
  }

  @Delete('cart')
  remove(@Req() req: SessionRequest) {
    delete req.session.cart;
    return { has: 'cart' in req.session };
  }

  @Get('data')
  data(@Req() req: SessionRequest) {
    return {
      cart: req.session.cart ?? null,
      profile: req.session.profile ?? null,
      keys: Object.keys(req.session).sort(),
      hasCart: 'cart' in req.session,
      hasSave: 'save' in req.session,
    };
  }

  /** Regenerate, then write the new session (as Passport's log-in does). */
  @Post('regenerate')
  @HttpCode(200)
  async regenerate(@Req() req: SessionRequest) {
    const before = req.session;
    const idBefore = before.id;
    await req.session.regenerate();
    const after = req.session;
    const dataAfter = { cart: after.cart ?? null, keys: Object.keys(after) };
    after.fresh = 'yes';
    let oldObjectWritable = true;
    try {
      before.cart = ['x'];
    } catch {
      oldObjectWritable = false;
    }
    return {
      hadId: typeof idBefore === 'string',
      newObject: before !== after,
      oldObjectKeepsData: before.cart ?? null,
      oldObjectWritable,
      dataAfter,
    };
  }

  @Post('regenerate-callback')
  regenerateCallback(@Req() req: SessionRequest, @Res() res: AnyReply) {
    const returned = req.session.regenerate((error) => {
      req.session.viaCallback = true;
      reply(res, { error: error ?? null, returnedSession: returned === previous });
    });
    const previous = returned;
  }

  @Post('destroy')
  async destroy(@Req() req: SessionRequest) {
    await req.session.destroy();
    return { keys: Object.keys(req.session), id: req.session.id ?? null };
  }

  @Post('destroy-callback')
  destroyCallback(@Req() req: SessionRequest, @Res() res: AnyReply) {
    req.session.destroy((error) => reply(res, { error: error ?? null }));
  }

  /** `save()` writes to the store before the handler goes on, promise or callback. */
  @Post('save')
  @HttpCode(200)
  async save(@Req() req: SessionRequest) {
    req.session.saved = 'promise';
    const writesBefore = store.writes();
    const result = req.session.save();
    const isPromise = result instanceof Promise;
    await result;
    return { isPromise, wrote: store.writes() > writesBefore, id: typeof req.session.id };
  }

  @Post('save-callback')
  saveCallback(@Req() req: SessionRequest, @Res() res: AnyReply) {
    req.session.saved = 'callback';
    const writesBefore = store.writes();
    const returned = req.session.save((error) => {
      reply(res, {
        error: error ?? null,
        wrote: store.writes() > writesBefore,
        returnedSession: returned === req.session,
      });
    });
  }

  @Get('reload')
  async reload(@Req() req: SessionRequest) {
    req.session.unsaved = 1;
    const result = req.session.reload();
    const isPromise = result instanceof Promise;
    await result;
    const viaCallback = await new Promise((resolve) =>
      req.session.reload((error) => resolve(error === null)),
    );
    return { isPromise, viaCallback, unsaved: req.session.unsaved ?? null };
  }

  @Get('cookie')
  cookie(@Req() req: SessionRequest) {
    const { cookie } = req.session;
    let assignable = true;
    try {
      (cookie as { maxAge: number }).maxAge = 1;
    } catch {
      assignable = false;
    }
    return {
      maxAge: cookie.maxAge,
      originalMaxAge: cookie.originalMaxAge,
      expires: cookie.expires.toISOString(),
      httpOnly: cookie.httpOnly,
      path: cookie.path,
      assignable,
      touch: req.session.touch() === req.session,
    };
  }

  /** Nest's built-in `@Session()` (from @nestjs/common) reads `req.session`: the facade. */
  @Post('builtin')
  @HttpCode(200)
  builtin(@NestSession() session: Record<string, unknown>) {
    session.visits = ((session.visits as number | undefined) ?? 0) + 1;
    return { visits: session.visits };
  }

  /** The module's own `@Session()` sees what `req.session` wrote, and the other way round. */
  @Get('ours')
  ours(@Session() session: Session, @Req() req: SessionRequest) {
    return { cart: session.get('cart') ?? null, same: session.id === req.session.id };
  }

  /** The module's own keys (`$csrf`...) are invisible through `req.session`. */
  @Get('internal')
  internal(@Session() session: Session, @Req() req: SessionRequest) {
    const token = session.csrfToken;
    return { token: typeof token, keys: Object.keys(req.session), csrf: req.session.$csrf ?? null };
  }

  /** Without the option: inspecting a request, or assigning `req.session`, must not throw. */
  @Get('request-inspect')
  requestInspect(@Req() req: object) {
    const text = inspect(req, { depth: 1 });
    return { inspected: text.length > 0, mentions: text.includes('nest-session-manager') };
  }

  @Post('assign')
  @HttpCode(200)
  assign(@Req() req: { session: unknown }) {
    req.session = { mine: true };
    return { session: req.session };
  }

  @Post('lazy')
  @HttpCode(200)
  lazy(@Session() session: Session) {
    session.set('lazy', true);
    return { lazy: session.get('lazy') };
  }

  /** What code written for express-session's plain-object Session also calls. */
  @Get('plain-object')
  plainObject(@Req() req: SessionRequest) {
    const session = req.session as unknown as Record<string, unknown> & object;
    return {
      own: Object.prototype.hasOwnProperty.call(session, 'cart'),
      viaMethod: (session.hasOwnProperty as (key: string) => boolean)('cart'),
      text: String(session),
      hasToString: 'toString' in session,
      thenable: typeof session.then,
    };
  }

  @Get('inspect')
  inspected(@Req() req: SessionRequest) {
    return { json: JSON.parse(JSON.stringify(req.session)), text: inspect(req.session) };
  }
}

function facadeModule(compat: boolean): unknown {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: SECRET,
        store,
        expirySweep: false,
        expressSessionCompat: compat,
      }),
    ],
    controllers: [FacadeController],
  })
  class FacadeAppModule {}
  return FacadeAppModule;
}

describe.each(PLATFORMS)('expressSessionCompat: req.session (%s)', (platform) => {
  let running: RunningApp;

  beforeAll(async () => {
    store = new CountingStore();
    running = await startTestApp(platform, facadeModule(true));
  });
  afterAll(async () => {
    await running?.close();
  });

  const http = () => request(running.http);

  it('property writes, reads and delete persist across requests', async () => {
    const first = await http().post('/cart');
    expect(first.body).toEqual({ cart: ['item-1'] });
    const cookie = cookiePair(first);
    const second = await http().post('/cart').set('Cookie', cookie);
    expect(second.body).toEqual({ cart: ['item-1', 'item-2'] });
    const read = await http().get('/data').set('Cookie', cookie);
    expect(read.body).toEqual({
      cart: ['item-1', 'item-2'],
      profile: null,
      keys: ['cart'],
      hasCart: true,
      hasSave: true,
    });
    expect((await http().delete('/cart').set('Cookie', cookie)).body).toEqual({ has: false });
    expect((await http().get('/data').set('Cookie', cookie)).body).toMatchObject({
      cart: null,
      keys: [],
      hasCart: false,
    });
  });

  it('an object read from the session and changed in place is saved', async () => {
    const cookie = cookiePair(await http().post('/nested'));
    await http().post('/nested').set('Cookie', cookie);
    await http().post('/nested').set('Cookie', cookie);
    const read = await http().get('/data').set('Cookie', cookie);
    expect(read.body.profile).toEqual({ visits: 3, tags: ['t1', 't2', 't3'] });
  });

  it("the module's own @Session() and req.session are one session", async () => {
    const cookie = cookiePair(await http().post('/cart'));
    const res = await http().get('/ours').set('Cookie', cookie);
    expect(res.body).toEqual({ cart: ['item-1'], same: true });
  });

  it('regenerate(): a new, empty session under a new ID; the old cookie is dead', async () => {
    const cookie = cookiePair(await http().post('/cart'));
    const res = await http().post('/regenerate').set('Cookie', cookie);
    expect(res.body).toEqual({
      hadId: true,
      newObject: true,
      oldObjectKeepsData: ['item-1'],
      oldObjectWritable: false,
      dataAfter: { cart: null, keys: [] },
    });
    const renewed = cookiePair(res);
    expect(renewed).not.toBe(cookie);
    expect((await http().get('/data').set('Cookie', renewed)).body).toMatchObject({
      cart: null,
      keys: ['fresh'],
    });
    // The pre-regenerate session is gone from the store: its cookie names nothing.
    const old = await http().get('/data').set('Cookie', cookie);
    expect(old.body).toMatchObject({ cart: null, keys: [] });
    expect(sessionCookie(old)?.cleared).toBe(true);
  });

  it('regenerate(callback): node-style callback, returns the session', async () => {
    const cookie = cookiePair(await http().post('/cart'));
    const res = await http().post('/regenerate-callback').set('Cookie', cookie);
    expect(res.body).toEqual({ error: null, returnedSession: true });
    const renewed = cookiePair(res);
    expect(renewed).not.toBe(cookie);
    expect((await http().get('/data').set('Cookie', renewed)).body.keys).toEqual(['viaCallback']);
    expect((await http().get('/data').set('Cookie', cookie)).body.keys).toEqual([]);
  });

  it('destroy(), promise and callback: the session ends and its cookie is cleared', async () => {
    const cookie = cookiePair(await http().post('/cart'));
    const res = await http().post('/destroy').set('Cookie', cookie);
    expect(res.body).toEqual({ keys: [], id: null });
    expect(sessionCookie(res)?.cleared).toBe(true);
    expect((await http().get('/data').set('Cookie', cookie)).body.cart).toBeNull();

    const other = cookiePair(await http().post('/cart'));
    const viaCallback = await http().post('/destroy-callback').set('Cookie', other);
    expect(viaCallback.body).toEqual({ error: null });
    expect(sessionCookie(viaCallback)?.cleared).toBe(true);
    expect((await http().get('/data').set('Cookie', other)).body.cart).toBeNull();
  });

  it('save(): written to the store before the handler goes on (promise and callback)', async () => {
    const res = await http().post('/save');
    expect(res.body).toEqual({ isPromise: true, wrote: true, id: 'string' });
    const cookie = cookiePair(res);
    const viaCallback = await http().post('/save-callback').set('Cookie', cookie);
    expect(viaCallback.body).toEqual({ error: null, wrote: true, returnedSession: true });
    expect((await http().get('/data').set('Cookie', cookie)).body.keys).toEqual(['saved']);
  });

  it('reload(): promise and callback, the request keeps its session', async () => {
    const res = await http().get('/reload');
    expect(res.body).toEqual({ isPromise: true, viaCallback: true, unsaved: 1 });
  });

  it('cookie: maxAge, originalMaxAge and expires, read-only; touch() returns the session', async () => {
    const res = await http().get('/cookie');
    const eightHours = 8 * 3600_000;
    expect(res.body.originalMaxAge).toBe(eightHours);
    expect(res.body.maxAge).toBeGreaterThan(eightHours - 60_000);
    expect(res.body.maxAge).toBeLessThanOrEqual(eightHours);
    expect(Math.abs(Date.parse(res.body.expires) - (Date.now() + eightHours))).toBeLessThan(60_000);
    expect(res.body).toMatchObject({ httpOnly: true, path: '/', assignable: false, touch: true });
  });

  it("Nest's built-in @Session() from @nestjs/common works on the facade", async () => {
    const first = await http().post('/builtin');
    expect(first.body).toEqual({ visits: 1 });
    const cookie = cookiePair(first);
    expect((await http().post('/builtin').set('Cookie', cookie)).body).toEqual({ visits: 2 });
  });

  it("a plain object's methods work on it (hasOwnProperty, toString); it is not a thenable", async () => {
    const cookie = cookiePair(await http().post('/cart'));
    const res = await http().get('/plain-object').set('Cookie', cookie);
    expect(res.body).toEqual({
      own: true,
      viaMethod: true,
      text: '[object Object]',
      hasToString: true,
      thenable: 'undefined',
    });
  });

  it("the module's own keys stay hidden; JSON and inspect show the data, never the ID", async () => {
    const cookie = cookiePair(await http().post('/cart'));
    const internal = await http().get('/internal').set('Cookie', cookie);
    expect(internal.body).toEqual({ token: 'string', keys: ['cart'], csrf: null });
    const res = await http().get('/inspect').set('Cookie', cookie);
    expect(res.body.json.cart).toEqual(['item-1']);
    expect(res.body.json.cookie.originalMaxAge).toBe(8 * 3600_000);
    expect(res.body.text).toContain('item-1');
    const id = cookie.slice(cookie.indexOf('=') + 1).split('.')[0];
    expect(JSON.stringify(res.body)).not.toContain(id);
  });
});

describe.each(PLATFORMS)('without expressSessionCompat (%s)', (platform) => {
  let running: RunningApp;

  beforeAll(async () => {
    store = new CountingStore();
    running = await startTestApp(platform, facadeModule(false));
  });
  afterAll(async () => {
    await running?.close();
  });

  it("Nest's built-in @Session() fails with the error that names the module's @Session() and the option", async () => {
    const mark = fileLog.mark();
    const res = await request(running.http).post('/builtin');
    expect(res.status).toBe(500);
    const logged = fileLog
      .since(mark)
      .filter((line) => line.level === 'error')
      .map((line) => line.text)
      .join('\n');
    expect(logged).toContain(REQ_SESSION_OFF_MESSAGE);
    expect(REQ_SESSION_OFF_MESSAGE).toContain(
      '@Session() decorator (the Session export of nest-session-manager)',
    );
    expect(REQ_SESSION_OFF_MESSAGE).toContain('expressSessionCompat: true');
  });

  it('inspecting a request and assigning req.session still work', async () => {
    const res = await request(running.http).get('/request-inspect');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ inspected: true, mentions: false });
    const assigned = await request(running.http).post('/assign');
    expect(assigned.status).toBe(200);
    expect(assigned.body).toEqual({ session: { mine: true } });
  });

  it("the module's own @Session() works, and no request loads a session it does not ask for", async () => {
    const res = await request(running.http).post('/lazy');
    expect(res.body).toEqual({ lazy: true });
    const cookie = cookiePair(res);
    store.reset();
    expect((await request(running.http).get('/request-inspect').set('Cookie', cookie)).status).toBe(
      200,
    );
    expect(store.total()).toBe(0);
  });
});

/** A store that can be switched off, to see what a failed load does to `req.session`. */
class SwitchableStore extends MemoryStore {
  down = false;

  override async get(key: string) {
    if (this.down) throw new Error('connect ECONNREFUSED (test)');
    return super.get(key);
  }
}

describe.each(PLATFORMS)('expressSessionCompat while the store is down (%s)', (platform) => {
  let running: RunningApp;
  const outage = new SwitchableStore();

  beforeAll(async () => {
    store = new CountingStore({ inner: outage });
    running = await startTestApp(platform, facadeModule(true));
  });
  afterAll(async () => {
    await running?.close();
  });

  it('reading req.session answers 503; a route that never reads it still answers', async () => {
    const cookie = cookiePair(await request(running.http).post('/cart'));
    outage.down = true;
    try {
      const res = await request(running.http).get('/data').set('Cookie', cookie);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      const open = await request(running.http).get('/request-inspect').set('Cookie', cookie);
      expect(open.status).toBe(200);
    } finally {
      outage.down = false;
    }
    expect((await request(running.http).get('/data').set('Cookie', cookie)).body.cart).toEqual([
      'item-1',
    ]);
  });
});

/** An app still mounting express-session (mid-migration), as Nest's own session docs do in main.ts. */
async function withExpressSession(compat: boolean): Promise<INestApplication> {
  const app = await NestFactory.create(facadeModule(compat) as never, {
    logger: captureNestLogs(),
    abortOnError: false,
  });
  app.use(expressSession({ secret: SECRET, resave: false, saveUninitialized: false }));
  return app;
}

describe('express-session mounted next to the module (express)', () => {
  it('without the option, express-session keeps req.session (the module steps aside)', async () => {
    store = new CountingStore();
    const app = await withExpressSession(false);
    try {
      await app.listen(0, '127.0.0.1');
      const http = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
      const first = await request(http).post('/builtin');
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ visits: 1 });
      const cookie = cookiePair(first, 'connect.sid');
      expect((await request(http).post('/builtin').set('Cookie', cookie)).body).toEqual({
        visits: 2,
      });
      // and the module's own session is there as ever
      expect((await request(http).post('/lazy')).body).toEqual({ lazy: true });
    } finally {
      await app.close();
    }
  });

  it('with the option, the app refuses to start: two owners of req.session', async () => {
    const app = await withExpressSession(true);
    try {
      await expect(app.init()).rejects.toThrow(/requests already have a `session` property/);
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});

describe('expressSessionCompat option', () => {
  it('is validated like the other options', () => {
    expect(() =>
      resolveSessionOptions({ secret: SECRET, expressSessionCompat: 'yes' as never }),
    ).toThrow(SessionOptionsError);
    expect(() =>
      resolveSessionOptions({ secret: SECRET, expressSessionCompat: 'yes' as never }),
    ).toThrow(/expressSessionCompat must be true or false/);
    expect(resolveSessionOptions({ secret: SECRET }).expressSessionCompat).toBe(false);
    expect(
      resolveSessionOptions({ secret: SECRET, expressSessionCompat: true }).expressSessionCompat,
    ).toBe(true);
  });
});
