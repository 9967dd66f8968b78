import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { crossFieldProblems } from './options/cross-field-rules.js';
import { SessionOptionsSchema } from './options/session-options.js';
import { SessionOptionsError } from './session.errors.js';
import type { SessionOptionsFactory } from './session.module-definition.js';
import { SessionModule } from './session.module.js';
import { resolveSessionOptions, type SessionModuleOptions } from './session.options.js';
import { MemoryStore } from './stores/memory.store.js';

const SECRET = 'a-secret-that-is-long-enough-0123456789';

/** The error resolveSessionOptions throws for `options` (fails the test if it does not throw). */
function problemsOf(options: unknown): SessionOptionsError {
  try {
    resolveSessionOptions(options as SessionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionOptionsError);
    return error as SessionOptionsError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

describe('resolveSessionOptions: defaults', () => {
  const savedEnv = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = savedEnv;
  });

  it('fills in the documented defaults', async () => {
    delete process.env.NODE_ENV;
    const resolved = resolveSessionOptions({ secret: SECRET });
    expect(resolved).toMatchObject({
      secrets: [SECRET],
      idleTimeoutMs: 30 * 60_000,
      absoluteTimeoutMs: 8 * 3_600_000,
      touchAfterMs: 15 * 60_000, // half the idle timeout
      storeOutage: 'fail-closed',
      bindToUserAgent: false,
      csrfAllowedOrigins: [],
      rotation: undefined,
      bruteForce: { maxFailures: 100, windowMs: 300_000, trustProxy: 0 },
      maxSessionBytes: 64 * 1024,
      cookie: { name: 'sid', secure: false, sameSite: 'lax', path: '/', httpOnly: true },
      logging: { level: 'debug', problemLevel: 'warn' },
      expirySweepMs: 5_000,
    });
    expect(resolved.cookie.domain).toBeUndefined();
    expect(resolved.store).toBeInstanceOf(MemoryStore);
    await resolved.store.close?.();
  });

  it('accepts durations as milliseconds or strings, and a list of secrets', () => {
    const store = new MemoryStore();
    const resolved = resolveSessionOptions({
      secret: [SECRET, `${SECRET}-old`],
      store,
      idleTimeout: '2s',
      absoluteTimeout: 10_000,
    });
    expect(resolved).toMatchObject({
      secrets: [SECRET, `${SECRET}-old`],
      idleTimeoutMs: 2000,
      absoluteTimeoutMs: 10_000,
      touchAfterMs: 1000,
    });
    expect(resolved.store).toBe(store);
    void store.close();
  });

  it('takes maxSessionBytes as given', () => {
    const store = new MemoryStore();
    expect(resolveSessionOptions({ secret: SECRET, store, maxSessionBytes: 2000 })).toMatchObject({
      maxSessionBytes: 2000,
    });
    void store.close();
  });

  it('secure cookies are named __Host-sid (__Secure-sid with a domain)', () => {
    expect(resolveSessionOptions({ secret: SECRET, cookie: { secure: true } }).cookie.name).toBe(
      '__Host-sid',
    );
    expect(
      resolveSessionOptions({ secret: SECRET, cookie: { secure: true, domain: 'example.com' } })
        .cookie.name,
    ).toBe('__Secure-sid');
    expect(
      resolveSessionOptions({ secret: SECRET, cookie: { secure: true, name: 'app' } }).cookie.name,
    ).toBe('app');
  });

  it('cookies are Secure by default when NODE_ENV=production', () => {
    process.env.NODE_ENV = 'production';
    const resolved = resolveSessionOptions({ secret: SECRET, store: new MemoryStore() });
    expect(resolved.cookie).toMatchObject({ secure: true, name: '__Host-sid' });
    void resolved.store.close?.();
  });

  it('fills in the group defaults: rotation grace, bruteForce, csrf origins, bindTo', () => {
    const store = new MemoryStore();
    expect(
      resolveSessionOptions({
        secret: SECRET,
        store,
        rotation: { every: '15m' },
        bruteForce: { maxFailures: 5 },
        csrf: { allowedOrigins: ['https://App.Example.com'] },
        bindTo: ['user-agent'],
      }),
    ).toMatchObject({
      rotation: { everyMs: 15 * 60_000, graceMs: 10_000 },
      bruteForce: { maxFailures: 5, windowMs: 300_000, trustProxy: 0 },
      csrfAllowedOrigins: ['https://app.example.com'],
      bindToUserAgent: true,
    });
    expect(resolveSessionOptions({ secret: SECRET, store, bruteForce: false }).bruteForce).toBe(
      undefined,
    );
    void store.close();
  });

  it('expirySweep: a duration, false to turn it off, and off for a store without claimExpired', () => {
    expect(resolveSessionOptions({ secret: SECRET, expirySweep: '250ms' }).expirySweepMs).toBe(250);
    expect(
      resolveSessionOptions({ secret: SECRET, expirySweep: false }).expirySweepMs,
    ).toBeUndefined();
    const store = new MemoryStore();
    const withoutClaims = Object.assign(Object.create(store) as MemoryStore, {
      claimExpired: undefined,
    });
    expect(
      resolveSessionOptions({ secret: SECRET, store: withoutClaims }).expirySweepMs,
    ).toBeUndefined();
  });

  it('logging: levels given, defaults for the rest, false turns the event log off', () => {
    expect(resolveSessionOptions({ secret: SECRET, logging: { level: 'log' } }).logging).toEqual({
      level: 'log',
      problemLevel: 'warn',
    });
    expect(resolveSessionOptions({ secret: SECRET, logging: false }).logging).toBeUndefined();
  });

  it('an option given as undefined or null takes its default, as if it were left out', () => {
    delete process.env.NODE_ENV;
    const store = new MemoryStore();
    const nothing = { secret: SECRET, store };
    const given = {
      ...nothing,
      idleTimeout: undefined,
      absoluteTimeout: null,
      touchAfter: null,
      storeOutage: undefined,
      bindTo: null,
      maxSessionBytes: undefined,
      rotation: null,
      bruteForce: { maxFailures: undefined, window: null, trustProxy: undefined },
      csrf: { allowedOrigins: undefined },
      cookie: { name: undefined, secure: null, sameSite: undefined, path: null, httpOnly: null },
    } as unknown as SessionModuleOptions;
    const resolved = resolveSessionOptions(given);
    expect(resolved).toEqual(resolveSessionOptions(nothing));
    expect(resolved.touchAfterMs).toBe(15 * 60_000);
    expect(
      resolveSessionOptions({ ...nothing, rotation: { every: '1m', grace: undefined } }).rotation,
    ).toEqual({ everyMs: 60_000, graceMs: 10_000 });
    // 0: no grace at all (the old ID dies at once, as after a privilege rotation)
    expect(
      resolveSessionOptions({ ...nothing, rotation: { every: '1m', grace: 0 } }).rotation,
    ).toEqual({ everyMs: 60_000, graceMs: 0 });
    void store.close();
  });
});

describe('resolveSessionOptions: validation', () => {
  it.each([
    ['secret missing', {}, /secret is required/],
    ['secret empty', { secret: '' }, /secret is required/],
    ['secret too short', { secret: 'short' }, /secret must be at least 32 characters/],
    [
      'a short secret in the list',
      { secret: [SECRET, 'short'] },
      /secret must be at least 32 characters/,
    ],
    ['an empty secret list', { secret: [] }, /secret/],
    ['zero idle timeout', { secret: SECRET, idleTimeout: 0 }, /idleTimeout must be a positive/],
    [
      'negative absolute timeout',
      { secret: SECRET, absoluteTimeout: -1 },
      /absoluteTimeout must be a positive/,
    ],
    [
      'an unparsable duration',
      { secret: SECRET, idleTimeout: 'soon' },
      /idleTimeout must be a positive/,
    ],
    [
      'absolute < idle',
      { secret: SECRET, idleTimeout: '2h', absoluteTimeout: '1h' },
      /absoluteTimeout .* must not be shorter than idleTimeout/,
    ],
    [
      'sameSite none without secure',
      { secret: SECRET, cookie: { sameSite: 'none', secure: false } },
      /sameSite 'none' requires cookie.secure/,
    ],
    [
      '__Host- with a domain',
      { secret: SECRET, cookie: { name: '__Host-sid', secure: true, domain: 'example.com' } },
      /__Host- prefix, which forbids cookie.domain/,
    ],
    [
      '__Host- with another path',
      { secret: SECRET, cookie: { name: '__Host-sid', secure: true, path: '/app' } },
      /__Host- prefix/,
    ],
    [
      'a store that is not a SessionStore',
      { secret: SECRET, store: {} },
      /store must implement SessionStore/,
    ],
    [
      'an invalid cookie name',
      { secret: SECRET, cookie: { name: 'a b' } },
      /cookie.name must be a valid cookie name/,
    ],
    [
      'touchAfter >= idleTimeout',
      { secret: SECRET, idleTimeout: '10s', touchAfter: '10s' },
      /touchAfter \(10000 ms\) must be shorter than idleTimeout \(10000 ms\)/,
    ],
    [
      'a cookie name too long for a 4096-byte cookie',
      { secret: SECRET, cookie: { name: 'a'.repeat(4009) } },
      /cookie.name is too long: name=value must fit in 4096 bytes/,
    ],
    [
      'a cookie that is not an object',
      { secret: SECRET, cookie: 'sid' },
      /cookie must be an object/,
    ],
    [
      'rotation without every',
      { secret: SECRET, rotation: {} },
      /rotation.every must be a positive duration such as '15m'/,
    ],
    [
      'a negative rotation grace',
      { secret: SECRET, rotation: { every: '1m', grace: -1 } },
      /rotation.grace must be 0 or a positive duration such as '10s'/,
    ],
    [
      'rotation grace >= every',
      { secret: SECRET, rotation: { every: '10s', grace: '10s' } },
      /rotation.grace must be shorter than rotation.every/,
    ],
    [
      'rotation that is not an object',
      { secret: SECRET, rotation: '15m' },
      /rotation must be an object/,
    ],
    ...[0, 1.5, '3'].map(
      (maxFailures) =>
        [
          `bruteForce.maxFailures ${String(maxFailures)}`,
          { secret: SECRET, bruteForce: { maxFailures } },
          /bruteForce.maxFailures must be a positive integer/,
        ] as const,
    ),
    [
      'an unparsable bruteForce.window',
      { secret: SECRET, bruteForce: { window: 'soon' } },
      /bruteForce.window must be a positive duration such as '5m'/,
    ],
    ...[-1, 1.5, '1'].map(
      (trustProxy) =>
        [
          `bruteForce.trustProxy ${String(trustProxy)}`,
          { secret: SECRET, bruteForce: { trustProxy } },
          /bruteForce.trustProxy must be the number of trusted proxies \(0 or more\)/,
        ] as const,
    ),
    [
      'bruteForce: true',
      { secret: SECRET, bruteForce: true },
      /bruteForce must be false or an object/,
    ],
    ...[['https://app.example.com/'], ['app.example.com'], 'https://app.example.com', [5]].map(
      (allowedOrigins) =>
        [
          `csrf.allowedOrigins ${JSON.stringify(allowedOrigins)}`,
          { secret: SECRET, csrf: { allowedOrigins } },
          /csrf.allowedOrigins must be a list of origins like 'https:\/\/app.example.com'/,
        ] as const,
    ),
    ['csrf that is not an object', { secret: SECRET, csrf: 'none' }, /csrf must be an object/],
    [
      'bindTo that is not an array',
      { secret: SECRET, bindTo: 'user-agent' },
      /bindTo must be an array, e.g. \['user-agent'\]/,
    ],
    ['bindTo with an unknown entry', { secret: SECRET, bindTo: ['ip'] }, /bindTo may only contain/],
    [
      'an unknown storeOutage',
      { secret: SECRET, storeOutage: 'open' },
      /storeOutage must be 'fail-closed' or 'anonymous'/,
    ],
    ['expirySweep 0', { secret: SECRET, expirySweep: 0 }, /expirySweep must be a positive/],
    ['expirySweep true', { secret: SECRET, expirySweep: true }, /expirySweep must be a positive/],
    [
      'logging not an object',
      { secret: SECRET, logging: 'loud' },
      /logging must be false or an object/,
    ],
    [
      'logging.level unknown',
      { secret: SECRET, logging: { level: 'info' } },
      /logging.level must be one of log, warn, debug, verbose/,
    ],
    [
      'logging.problemLevel error',
      { secret: SECRET, logging: { problemLevel: 'error' } },
      /logging.problemLevel must be one of/,
    ],
    ...[0, -1, 1.5, '2000', Number.NaN, Number.POSITIVE_INFINITY, true].map(
      (maxSessionBytes) =>
        [
          `maxSessionBytes ${String(maxSessionBytes)}`,
          { secret: SECRET, maxSessionBytes },
          /maxSessionBytes must be a positive integer/,
        ] as const,
    ),
  ])('rejects %s', (_name, options, message) => {
    const error = problemsOf(options);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^Invalid SessionModule options:/);
  });

  it('names EVERY problem in one error', () => {
    const error = problemsOf({
      secret: 'short',
      idleTimeout: -5,
      absoluteTimeout: 0,
      maxSessionBytes: 0,
      cookie: { sameSite: 'none', secure: false, name: '__Host-sid', domain: 'example.com' },
    });
    const expected = [
      /secret must be at least 32 characters/,
      /idleTimeout must be a positive/,
      /absoluteTimeout must be a positive/,
      /maxSessionBytes must be a positive integer/,
      /sameSite 'none' requires cookie.secure/,
      /__Host-\/__Secure- prefix, which requires cookie.secure/,
      /__Host- prefix, which forbids cookie.domain/,
    ];
    for (const pattern of expected) {
      expect(error.problems.some((p) => pattern.test(p))).toBe(true);
      expect(error.message).toMatch(pattern);
    }
    expect(error.problems).toHaveLength(expected.length);
  });

  it('names every problem of every group in one error, field rules before cross-field rules', () => {
    const error = problemsOf({
      secret: SECRET,
      bindTo: 'user-agent',
      cookie: { name: '__Host-sid', secure: false },
      csrf: { allowedOrigins: 'https://app.example.com' },
      rotation: { every: '10s', grace: '1m' },
      bruteForce: { maxFailures: 0, window: 0, trustProxy: -1 },
    });
    expect(error.problems).toEqual([
      "bindTo must be an array, e.g. ['user-agent']",
      "csrf.allowedOrigins must be a list of origins like 'https://app.example.com'",
      'bruteForce.maxFailures must be a positive integer',
      "bruteForce.window must be a positive duration such as '5m'",
      'bruteForce.trustProxy must be the number of trusted proxies (0 or more)',
      "cookie.name '__Host-sid' has a __Host-/__Secure- prefix, which requires cookie.secure: true",
      'rotation.grace must be shorter than rotation.every',
    ]);
  });

  it('lists a missing secret and absolute < idle together', () => {
    expect(problemsOf({ idleTimeout: '10m', absoluteTimeout: '5m' }).problems).toEqual([
      expect.stringMatching(/secret is required/),
      expect.stringMatching(
        /absoluteTimeout \(300000 ms\) must not be shorter than idleTimeout \(600000 ms\)/,
      ),
    ]);
  });

  it('rejects options that are not an object', () => {
    expect(problemsOf(undefined).message).toMatch(/options must be an object/);
    expect(problemsOf('secret').message).toMatch(/options must be an object/);
  });
});

describe('crossFieldProblems', () => {
  const crossOf = (options: Partial<SessionModuleOptions>) =>
    crossFieldProblems(SessionOptionsSchema.from({ secret: SECRET, ...options }));

  it('has nothing to say about the defaults, secure or not', () => {
    expect(crossOf({})).toEqual([]);
    expect(crossOf({ cookie: { secure: true } })).toEqual([]);
    expect(crossOf({ cookie: { secure: true, domain: 'example.com' } })).toEqual([]);
    expect(crossOf({ rotation: { every: '11s' } })).toEqual([]);
  });

  it('names each broken rule between fields', () => {
    expect(
      crossOf({
        idleTimeout: '1h',
        absoluteTimeout: '30m',
        touchAfter: '2h',
        cookie: { name: '__Host-x', secure: false, sameSite: 'none', path: '/app' },
        rotation: { every: '5s' }, // the default grace (10 s) is longer
      }),
    ).toEqual([
      'absoluteTimeout (1800000 ms) must not be shorter than idleTimeout (3600000 ms)',
      'touchAfter (7200000 ms) must be shorter than idleTimeout (3600000 ms)',
      "cookie.sameSite 'none' requires cookie.secure: true (browsers reject it otherwise)",
      "cookie.name '__Host-x' has a __Host-/__Secure- prefix, which requires cookie.secure: true",
      "cookie.name '__Host-x' has the __Host- prefix, which forbids cookie.domain and requires cookie.path '/'",
      'rotation.grace must be shorter than rotation.every',
    ]);
  });

  it('skips a rule whose inputs are invalid: their own validators name them', () => {
    expect(
      crossOf({
        idleTimeout: 'soon' as never,
        absoluteTimeout: 1,
        cookie: 'sid' as never,
        rotation: { every: 'often' as never, grace: '1h' },
      }),
    ).toEqual([]);
  });
});

describe('SessionModule rejects app creation with the same error', () => {
  const BAD = { secret: 'short', idleTimeout: 0, cookie: { sameSite: 'none' as const } };
  const expectAllProblems = (error: unknown) => {
    expect(error).toBeInstanceOf(SessionOptionsError);
    const { message } = error as Error;
    expect(message).toMatch(/secret must be at least 32 characters/);
    expect(message).toMatch(/idleTimeout must be a positive/);
    expect(message).toMatch(/sameSite 'none' requires cookie.secure/);
  };

  it('forRoot: Test.createTestingModule(...).compile() rejects', async () => {
    const compiling = Test.createTestingModule({ imports: [SessionModule.forRoot(BAD)] }).compile();
    await expect(compiling).rejects.toThrow(SessionOptionsError);
    await compiling.catch(expectAllProblems);
  });

  it('forRootAsync (useFactory): compile() rejects', async () => {
    const compiling = Test.createTestingModule({
      imports: [SessionModule.forRootAsync({ useFactory: async () => BAD })],
    }).compile();
    await expect(compiling).rejects.toThrow(SessionOptionsError);
    await compiling.catch(expectAllProblems);
  });

  it('forRootAsync (useClass): compile() rejects', async () => {
    @Injectable()
    class BadOptions implements SessionOptionsFactory {
      createSessionOptions() {
        return BAD;
      }
    }
    const compiling = Test.createTestingModule({
      imports: [SessionModule.forRootAsync({ useClass: BadOptions })],
    }).compile();
    await compiling.then(() => {
      throw new Error('expected compile() to reject');
    }, expectAllProblems);
  });

  it('NestFactory.create (abortOnError: false) rejects for forRoot and forRootAsync alike', async () => {
    @Module({ imports: [SessionModule.forRoot(BAD)] })
    class SyncApp {}
    @Module({ imports: [SessionModule.forRootAsync({ useFactory: () => BAD })] })
    class AsyncApp {}
    for (const module of [SyncApp, AsyncApp]) {
      const creating = NestFactory.create(module, { logger: false, abortOnError: false });
      await creating.then(async (app) => {
        await app.close();
        throw new Error('expected NestFactory.create() to reject');
      }, expectAllProblems);
    }
  });

  it('valid options compile, for forRoot and forRootAsync', async () => {
    for (const imported of [
      SessionModule.forRoot({ secret: SECRET }),
      SessionModule.forRootAsync({ useFactory: () => ({ secret: SECRET }) }),
    ]) {
      const moduleRef = await Test.createTestingModule({ imports: [imported] }).compile();
      await moduleRef.close();
    }
  });
});
