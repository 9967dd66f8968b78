import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpCode, Module, Post, Query } from '@nestjs/common';
import request from 'supertest';
import { Session } from '../../lib/decorators/session.decorator.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { SessionModule } from '../../lib/session.module.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { SessionStore } from '../../lib/stores/session-store.interface.js';
import { AppModule } from '../../sample/app.module.js';
import { readSampleConfig } from '../../sample/sample.config.js';
import { cookiePair, idOf, mintsCookie } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  newTestStore,
  PLATFORMS,
  REDIS_PAIR,
  startSampleApp,
  startTestApp,
  TEST_SECRET,
  type RunningApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const MAX_BYTES = 2000;

/** The bound's definition: UTF-8 bytes of every stored key and serialized value. */
const bytesOf = (data: Record<string, string>) =>
  Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

/**
 * "Logout must stick", item 8: a session is bounded (`maxSessionBytes`; the
 * sample's SESSION_MAX_BYTES). A write past the bound answers 413
 * `session_too_large` and loses nothing already stored.
 */
describe.each(PLATFORMS)('session size bound: the sample (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { SESSION_MAX_BYTES: String(MAX_BYTES) } });
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  const put = (cookie: string, name: string, value: unknown) =>
    request(http).put(`/prefs/${name}`).set('Cookie', cookie).send({ value });
  const prefs = async (cookie: string) => {
    const res = await request(http).get('/prefs').set('Cookie', cookie);
    expect(res.status).toBe(200);
    return res.body as Record<string, unknown>;
  };
  const storedData = async (cookie: string) =>
    (await h.store.inner.get(sessionStoreKey(idOf(cookie))))!.data;

  /** Writes 200-byte prefs p0, p1, ... until one is refused; answers what was kept and the refusal. */
  const fill = async (cookie: string) => {
    const written: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      const value = `${i}:${'x'.repeat(200)}`;
      const res = await put(cookie, `p${i}`, value);
      if (res.status !== 200) return { written, refused: res, next: i };
      written[`p${i}`] = value;
    }
    throw new Error(`40 prefs of 200 bytes fit in a ${MAX_BYTES}-byte session`);
  };

  it('PUT /prefs past SESSION_MAX_BYTES: 413 session_too_large, every earlier pref intact', async () => {
    const cookie = await logIn(http);
    const { written, refused, next } = await fill(cookie);
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({ statusCode: 413, reason: 'session_too_large' });
    expect(mintsCookie(refused)).toBe(false);
    expect(Object.keys(written).length).toBeGreaterThanOrEqual(5);

    // Read back on new requests (in redis-pair mode, on both instances): unchanged.
    expect(await prefs(cookie)).toEqual(written);
    expect(await prefs(cookie)).toEqual(written);
    const data = await storedData(cookie);
    expect(data[`pref:p${next}`]).toBeUndefined();
    expect(bytesOf(data)).toBeLessThanOrEqual(MAX_BYTES);
    // Still logged in.
    expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
  });

  it('a refused write costs no store write; an overwrite that does not fit keeps the old value', async () => {
    const cookie = await logIn(http);
    const { written } = await fill(cookie);
    h.store.reset();
    const res = await put(cookie, 'p0', 'y'.repeat(1500));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ reason: 'session_too_large' });
    expect(h.store.nonZero()).toEqual({ get: 1 });
    expect((await prefs(cookie)).p0).toBe(written.p0);
    expect(await prefs(cookie)).toEqual(written);
  });

  it('a write that fits still works after a refusal (and shrinking makes room again)', async () => {
    const cookie = await logIn(http);
    const { written, next } = await fill(cookie);
    const small = await put(cookie, 's', 1);
    expect(small.status).toBe(200);
    expect(small.body).toEqual({ s: 1 });
    // Overwriting a big pref with a small one frees room for the one refused before.
    expect((await put(cookie, 'p0', 'short')).status).toBe(200);
    const again = `${next}:${'x'.repeat(150)}`;
    expect((await put(cookie, `p${next}`, again)).status).toBe(200);
    expect(await prefs(cookie)).toEqual({ ...written, p0: 'short', s: 1, [`p${next}`]: again });
  });
});

@Controller('grow')
class GrowController {
  @Post('start')
  @HttpCode(200)
  start(@Session() session: Session) {
    session.set('list', ['a']);
    return { ok: true };
  }

  /** Grows the stored list in place: no set(), so only the commit can see the size. */
  @Post()
  @HttpCode(200)
  grow(@Session() session: Session, @Query('by') by: string) {
    const list = session.get('list') as string[];
    list.push('x'.repeat(Number(by)));
    return { length: list.length };
  }

  /** A new session whose only value is grown in place after set(). */
  @Post('new')
  @HttpCode(200)
  fresh(@Session() session: Session, @Query('by') by: string) {
    const list: string[] = [];
    session.set('list', list);
    list.push('x'.repeat(Number(by)));
    return { ok: true };
  }

  @Get()
  read(@Session() session: Session) {
    return { list: session.get('list') ?? null };
  }
}

@Module({})
class GrowAppModule {
  static register(store: CountingStore) {
    return {
      module: GrowAppModule,
      imports: [SessionModule.forRoot({ secret: TEST_SECRET, store, maxSessionBytes: 500 })],
      controllers: [GrowController],
    };
  }
}

/**
 * A value grown in place (`session.get('list').push(...)`) is caught at
 * commit: nothing is written, and the app's 200 is replaced by the 413.
 */
describe.each(PLATFORMS)('session size bound: deep mutation, at commit (%s)', (platform) => {
  let store: CountingStore;
  let running: RunningApp;
  let http: string;

  beforeAll(async () => {
    store = await newTestStore();
    running = await startTestApp(platform, GrowAppModule.register(store));
    http = running.http;
  });
  afterAll(async () => {
    await running?.close();
    await store?.close();
  });
  beforeEach(() => store.reset());

  const read = async (cookie: string) =>
    (await request(http).get('/grow').set('Cookie', cookie)).body as { list: string[] | null };

  it('a stored session grown past the bound: 413, and the stored session stays as it was', async () => {
    const cookie = cookiePair(await request(http).post('/grow/start'));
    const fits = await request(http).post('/grow?by=100').set('Cookie', cookie);
    expect(fits.status).toBe(200);
    const before = (await read(cookie)).list;
    expect(before).toEqual(['a', 'x'.repeat(100)]);

    store.reset();
    const res = await request(http).post('/grow?by=1000').set('Cookie', cookie);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, reason: 'session_too_large' });
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(store.nonZero()).toEqual({ get: 1 }); // nothing written
    expect((await read(cookie)).list).toEqual(before);
    const record = await store.inner.get(sessionStoreKey(idOf(cookie)));
    expect(JSON.parse(record!.data.list)).toEqual(before);

    // The session still takes writes that fit.
    expect((await request(http).post('/grow?by=10').set('Cookie', cookie)).status).toBe(200);
    expect((await read(cookie)).list).toEqual([...before!, 'x'.repeat(10)]);
  });

  it('a new session grown past the bound before its first commit: 413, no cookie, nothing stored', async () => {
    const res = await request(http).post('/grow/new?by=1000');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ reason: 'session_too_large' });
    expect(mintsCookie(res)).toBe(false);
    expect(store.writes()).toBe(0);
    const ok = await request(http).post('/grow/new?by=100');
    expect(ok.status).toBe(200);
    expect((await read(cookiePair(ok))).list).toEqual(['x'.repeat(100)]);
  });
});

/**
 * The sample's own store, when no REDIS_URL is set and none is injected: a
 * MemoryStore built from SESSION_MEMORY_MAX_SESSIONS and SESSION_MAX_PER_USER,
 * closed on shutdown like the module's default one. (The harness injects a
 * store, so this starts the sample's module itself; one run is enough, hence
 * memory mode only.)
 */
(REDIS_PAIR ? describe.skip : describe).each(PLATFORMS)(
  "the sample's own MemoryStore and default size bound (%s)",
  (platform) => {
    let running: RunningApp;
    let http: string;
    let store: SessionStore;

    beforeAll(async () => {
      const config = readSampleConfig({
        PLATFORM: platform,
        SESSION_SECRET: TEST_SECRET,
        SESSION_MEMORY_MAX_SESSIONS: '4',
        SESSION_MAX_PER_USER: '2',
      });
      running = await startTestApp(platform, AppModule.register(config));
      http = running.http;
      store = running.app.get(SessionStore);
    });
    afterAll(async () => {
      await running?.close();
    });

    it('SESSION_MAX_PER_USER: a third log-in of one user leaves two of their sessions', async () => {
      const first = await logIn(http);
      await logIn(http);
      const third = await logIn(http);
      const listed = await request(http).get('/sessions').set('Cookie', third);
      expect(listed.status).toBe(200);
      expect(listed.body).toHaveLength(2);
      expect((await request(http).get('/me').set('Cookie', first)).status).toBe(401);
      expect((await request(http).get('/me').set('Cookie', third)).status).toBe(200);
    });

    it("SESSION_MAX_BYTES unset: the library's 64 KiB bound", async () => {
      const cookie = await logIn(http);
      const put = (name: string, bytes: number) =>
        request(http)
          .put(`/prefs/${name}`)
          .set('Cookie', cookie)
          .send({ value: 'x'.repeat(bytes) });
      expect((await put('a', 40_000)).status).toBe(200);
      const refused = await put('b', 30_000); // fits any body limit, not the session
      expect(refused.status).toBe(413);
      expect(refused.body).toMatchObject({ reason: 'session_too_large' });
      expect((await put('b', 20_000)).status).toBe(200);
    });

    it('SESSION_MEMORY_MAX_SESSIONS bounds the store, which is closed on shutdown', async () => {
      expect(store).toBeInstanceOf(MemoryStore);
      for (let i = 0; i < 8; i++) {
        expect((await request(http).get('/')).body).toEqual({ views: 1 });
      }
      expect((store as MemoryStore).size).toBeGreaterThan(0);
      expect((store as MemoryStore).size).toBeLessThanOrEqual(4);
      await running.close();
      expect((store as MemoryStore).size).toBe(0);
    });
  },
);

describe('sample config: the size and store variables', () => {
  const read = (env: Record<string, string>) =>
    readSampleConfig({ SESSION_SECRET: TEST_SECRET, ...env });

  it('reads SESSION_MAX_BYTES, SESSION_MAX_PER_USER, SESSION_MEMORY_MAX_SESSIONS; unset: the defaults', () => {
    expect(
      read({
        SESSION_MAX_BYTES: '2000',
        SESSION_MAX_PER_USER: '5',
        SESSION_MEMORY_MAX_SESSIONS: '10',
      }),
    ).toMatchObject({ maxSessionBytes: 2000, maxSessionsPerUser: 5, memoryMaxSessions: 10 });
    const defaults = read({});
    expect(defaults.maxSessionBytes).toBeUndefined();
    expect(defaults.maxSessionsPerUser).toBeUndefined();
    expect(defaults.memoryMaxSessions).toBeUndefined();
  });

  it.each(['SESSION_MAX_BYTES', 'SESSION_MAX_PER_USER', 'SESSION_MEMORY_MAX_SESSIONS'])(
    'rejects %s that is not a positive integer',
    (name) => {
      for (const bad of ['0', '-3', '1.5', 'many']) {
        expect(() => read({ [name]: bad })).toThrow(`${name} must be a positive integer`);
      }
    },
  );
});
