import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SessionOptionsError } from './session.errors.js';
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
    class BadOptions {
      create() {
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
