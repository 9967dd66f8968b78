import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  Query,
  type DynamicModule,
} from '@nestjs/common';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import { Session } from '../../lib/decorators/session.decorator.js';
import type { SessionEvent } from '../../lib/events/session-event.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { SessionModule } from '../../lib/session.module.js';
import { cookiePair, idOf, mintsCookie } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  newTestStore,
  PASSWORDS,
  PLATFORMS,
  sleep,
  startSampleApp,
  startTestApp,
  subscribeSessionEvents,
  TEST_SECRET,
  type RunningApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * Findings of the outside review fixed in aef101e, items 1-3 (item 4, the
 * anonymous outage mode, is test/redis/anonymous-outage.e2e.spec.ts).
 */

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36';
const THIEF = 'curl/8.5.0';

/** Every object key anywhere in a parsed JSON value. */
function allKeys(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) allKeys(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      out.push(key);
      allKeys(inner, out);
    }
  }
  return out;
}

@Controller('t')
class ExposeController {
  /** Logs in, creates the CSRF secret, sets an app key and answers the session object itself. */
  @Post('login')
  @HttpCode(200)
  async login(@Session() session: Session) {
    await session.logIn({ userId: 'u1', roles: ['user'] });
    const token = session.csrfToken; // creates `$csrf`
    if (typeof token !== 'string' || token === '') throw new Error('no CSRF token');
    session.set('color', 'blue');
    return session;
  }

  /** A loaded session (its `$csrf`, `$ua`, `$rot` come from the store): `return session`. */
  @Get('session')
  loaded(@Session() session: Session) {
    void session.csrfToken;
    session.set('visits', ((session.get('visits') as number | undefined) ?? 0) + 1);
    return session;
  }

  /** The same, through `JSON.stringify(session)` (sent as text). */
  @Get('session-text')
  text(@Session() session: Session) {
    void session.csrfToken;
    return JSON.stringify(session);
  }

  /** `logIn()` with a numeric userId from the query (`Number('NaN')`, ...): 400 with its TypeError. */
  @Post('login-number')
  @HttpCode(200)
  async loginNumber(@Session() session: Session, @Query('n') n: string) {
    try {
      await session.logIn({ userId: Number(n) });
    } catch (error) {
      if (error instanceof TypeError) throw new BadRequestException(error.message);
      throw error;
    }
    return { accepted: true, userId: session.userId };
  }
}

@Module({})
class ExposeAppModule {
  static register(store: CountingStore): DynamicModule {
    return {
      module: ExposeAppModule,
      imports: [
        SessionModule.forRoot({
          secret: TEST_SECRET,
          store,
          // so that a loaded session also holds `$ua` and `$rot`
          bindTo: ['user-agent'],
          rotation: { every: 3_600_000, grace: 1_000 },
        }),
      ],
      controllers: [ExposeController],
    };
  }
}

describe.each(PLATFORMS)(
  'review item 1: toJSON() hides internal keys and the ID (%s)',
  (platform) => {
    let store: CountingStore;
    let running: RunningApp;
    let http: string;

    beforeAll(async () => {
      store = await newTestStore();
      running = await startTestApp(platform, ExposeAppModule.register(store));
      http = running.http;
    });
    afterAll(async () => {
      await running?.close();
      await store?.close();
    });

    /** The stored record's data: the internal keys really exist, so their absence below means something. */
    const storedData = async (cookie: string) => {
      const record = await store.inner.get(sessionStoreKey(idOf(cookie)));
      expect(record).not.toBeNull();
      return record!.data;
    };

    /** No `$` key anywhere, no internal value, no ID in the serialized session. */
    const expectNothingInternal = (text: string, data: Record<string, string>, id?: string) => {
      const keys = allKeys(JSON.parse(text));
      expect(keys.filter((key) => key.startsWith('$'))).toEqual([]);
      expect(text).not.toContain('$csrf');
      for (const [key, value] of Object.entries(data)) {
        // string values (the CSRF secret, the User-Agent digest) are stored JSON-quoted
        if (key.startsWith('$') && value.startsWith('"') && value.length > 10) {
          expect(text).not.toContain(value.slice(1, -1));
        }
      }
      if (id !== undefined) {
        expect(keys).not.toContain('id');
        expect(text).not.toContain(id);
      }
    };

    it('`return session` after logIn + csrfToken + set: the app keys, no `$csrf`', async () => {
      const res = await request(http).post('/t/login').set('User-Agent', BROWSER);
      expect(res.status).toBe(200);
      const cookie = cookiePair(res);
      const data = await storedData(cookie);
      expect(Object.keys(data)).toEqual(expect.arrayContaining(['$csrf', '$ua', 'color']));

      expect(res.body).toMatchObject({ userId: 'u1', roles: ['user'] });
      expect(Object.keys(res.body.data)).toEqual(['color']);
      expect(res.text).toContain('blue');
      expectNothingInternal(res.text, data, idOf(cookie));
    });

    it('`return session` and `JSON.stringify(session)` of a loaded session: no `$` key, no ID', async () => {
      // A log-in over an existing session rotates its ID (and records `$rot`).
      const anonymous = await request(http).get('/t/session').set('User-Agent', BROWSER);
      expect(anonymous.status).toBe(200);
      const cookie = cookiePair(
        await request(http)
          .post('/t/login')
          .set('Cookie', cookiePair(anonymous))
          .set('User-Agent', BROWSER),
      );

      const loaded = await request(http)
        .get('/t/session')
        .set('Cookie', cookie)
        .set('User-Agent', BROWSER);
      expect(loaded.status).toBe(200);
      const data = await storedData(cookie);
      expect(Object.keys(data)).toEqual(expect.arrayContaining(['$csrf', '$ua', '$rot']));
      expect(loaded.body).toMatchObject({ userId: 'u1', roles: ['user'] });
      expect(Object.keys(loaded.body.data).sort()).toEqual(['color', 'visits']);
      expectNothingInternal(loaded.text, data, idOf(cookie));

      const text = await request(http)
        .get('/t/session-text')
        .set('Cookie', cookie)
        .set('User-Agent', BROWSER);
      expect(text.status).toBe(200);
      const parsed = JSON.parse(text.text);
      expect(parsed).toMatchObject({ userId: 'u1', roles: ['user'] });
      expect(Object.keys(parsed.data).sort()).toEqual(['color', 'visits']);
      expectNothingInternal(text.text, await storedData(cookie), idOf(cookie));
    });
  },
);

describe.each(PLATFORMS)('review item 2: logIn() refuses a non-finite userId (%s)', (platform) => {
  let store: CountingStore;
  let running: RunningApp;
  let http: string;

  beforeAll(async () => {
    store = await newTestStore();
    running = await startTestApp(platform, ExposeAppModule.register(store));
    http = running.http;
  });
  afterAll(async () => {
    await running?.close();
    await store?.close();
  });
  beforeEach(() => store.reset());

  it.each(['NaN', 'Infinity', '-Infinity'])(
    'userId %s: TypeError (400 "finite"), no session, no cookie',
    async (n) => {
      const res = await request(http).post(`/t/login-number?n=${n}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/finite/);
      expect(mintsCookie(res)).toBe(false);
      expect(store.writes()).toBe(0);
    },
  );

  it('a finite number is still accepted (control), stored as a string', async () => {
    const res = await request(http).post('/t/login-number?n=42');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: true, userId: '42' });
    const cookie = cookiePair(res);
    const loaded = await request(http).get('/t/session').set('Cookie', cookie);
    expect(loaded.status).toBe(200);
    expect(loaded.body.userId).toBe('42');
  });
});

/**
 * Review item 3: an old ID used within its renewal grace window from
 * another User-Agent is a stolen cookie like the new one would be: refused
 * AND the session revoked (the owner's new cookie dies too), with a
 * `rejected` (`binding`) event.
 */
describe.each(PLATFORMS)(
  'review item 3: old ID within grace, other User-Agent (%s)',
  (platform) => {
    const EVERY_MS = 1_500;
    const GRACE_MS = 1_000;
    let h: SampleAppHarness<CountingStore>;
    let events: SessionEvent[];
    let subscription: Subscription;

    beforeAll(async () => {
      h = await startSampleApp(platform, {
        env: {
          SESSION_BIND_USER_AGENT: '1',
          SESSION_ROTATE_EVERY_MS: String(EVERY_MS),
          SESSION_ROTATION_GRACE_MS: String(GRACE_MS),
        },
      });
      events = [];
      subscription = subscribeSessionEvents(h, (e) => events.push(e));
    });
    afterAll(async () => {
      subscription?.unsubscribe();
      await h?.close();
    });

    const me = (cookie: string, userAgent: string) =>
      request(h.http).get('/me').set('Cookie', cookie).set('User-Agent', userAgent);

    it('answers 401 revoked, revokes the renewed session (new cookie dead too), emits rejected binding', async () => {
      const login = await request(h.http)
        .post('/auth/login')
        .set('User-Agent', BROWSER)
        .send({ username: 'alice', password: PASSWORDS.alice });
      expect(login.status).toBe(200);
      const oldCookie = cookiePair(login);
      const handle = events.find((e) => e.type === 'created' && e.reason === 'login')?.handle;
      expect(handle).toEqual(expect.any(String));

      await sleep(EVERY_MS + 100);
      const renewing = await me(oldCookie, BROWSER);
      expect(renewing.status).toBe(200);
      const newCookie = cookiePair(renewing);
      expect(idOf(newCookie)).not.toBe(idOf(oldCookie));
      const renewedAt = Date.now();
      // Within the grace, the old ID still serves its owner: the forward is live.
      expect((await me(oldCookie, BROWSER)).status).toBe(200);
      events.length = 0;

      const stolen = await me(oldCookie, THIEF);
      // all of this happened within the grace window (else the 401 would prove nothing)
      expect(Date.now() - renewedAt).toBeLessThan(GRACE_MS);
      expect(stolen.status).toBe(401);
      expect(stolen.body.reason).toBe('revoked');

      const hijack = events.filter((e) => e.type === 'rejected' && e.reason === 'binding');
      expect(hijack).toHaveLength(1);
      expect(hijack[0]).toMatchObject({ userId: 'alice', handle });
      expect(events.filter((e) => e.type === 'destroyed')).toEqual([
        expect.objectContaining({ reason: 'revoked', handle }),
      ]);
      expect(JSON.stringify(events)).not.toContain(idOf(oldCookie));
      expect(JSON.stringify(events)).not.toContain(idOf(newCookie));

      // The session was revoked as hijacked: the owner's new cookie is dead, and so is the old one.
      const owner = await me(newCookie, BROWSER);
      expect(owner.status).toBe(401);
      expect(owner.body.reason).toBe('revoked');
      expect((await me(oldCookie, BROWSER)).status).toBe(401);
      const record = await h.store.inner.get(sessionStoreKey(idOf(newCookie)));
      expect(record?.revokedAt).toEqual(expect.any(Number));
    });
  },
);
