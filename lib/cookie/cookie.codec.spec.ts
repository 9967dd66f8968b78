import { describe, expect, it } from '@jest/globals';
import { parseCookie } from 'cookie';
import fc from 'fast-check';
import type { ResolvedSessionOptions } from '../session.options.js';
import { MAX_SESSION_COOKIE_VALUES, SessionCookieCodec } from './cookie.codec.js';

type CookieOptions = ResolvedSessionOptions['cookie'];
const DEFAULTS: CookieOptions = {
  name: 'sid',
  path: '/',
  httpOnly: true,
  secure: false,
  sameSite: 'lax',
};
const codec = (overrides: Partial<CookieOptions> = {}) =>
  new SessionCookieCodec({ ...DEFAULTS, ...overrides });
const VALUE = `${'a'.repeat(43)}.${'b'.repeat(43)}`;

describe('SessionCookieCodec.read', () => {
  it('finds the session cookie among others', () => {
    expect(codec().read(`sid=${VALUE}`)).toBe(VALUE);
    expect(codec().read(`a=1; sid=${VALUE}; b=2`)).toBe(VALUE);
    expect(codec().read(`a=1;sid=${VALUE};b=2`)).toBe(VALUE);
    expect(codec({ name: '__Host-sid' }).read(`sid=x; __Host-sid=${VALUE}`)).toBe(VALUE);
  });

  it('answers undefined when there is no session cookie', () => {
    const c = codec();
    for (const header of [
      '',
      'a=1',
      'sidx=1',
      'xsid=1',
      'SID=1',
      'sid',
      's i d=1',
      ';;;',
      'a=sid',
    ]) {
      expect(c.read(header)).toBeUndefined();
    }
  });

  it('answers undefined for anything that is not a string (e.g. a missing header)', () => {
    const c = codec();
    for (const header of [undefined, null, 42, ['sid=x'], { sid: 'x' }])
      expect(c.read(header)).toBeUndefined();
  });

  it('takes the first of duplicate cookies', () => {
    expect(codec().read(`sid=${VALUE}; sid=other`)).toBe(VALUE);
    expect(codec().read(`sid=other; sid=${VALUE}`)).toBe('other');
  });

  it('never URI-decodes values', () => {
    expect(codec().read('sid=%61%62')).toBe('%61%62');
    expect(codec().read('sid=%E0%A4%A')).toBe('%E0%A4%A'); // malformed: no throw either
  });

  it('ignores headers longer than 16 KB without parsing them', () => {
    expect(codec().read(`sid=${VALUE}; pad=${'x'.repeat(16_384)}`)).toBeUndefined();
    expect(codec().read(`sid=${VALUE}; pad=${'x'.repeat(8_000)}`)).toBe(VALUE);
  });

  it('is not fooled by prototype names', () => {
    const c = codec();
    expect(c.read('__proto__=1; constructor=2')).toBeUndefined();
    expect(c.read(`__proto__=1; sid=${VALUE}`)).toBe(VALUE);
    expect(codec({ name: 'toString' }).read('a=1')).toBeUndefined();
  });
});

/**
 * Item 7 of "Logout must stick": with `sid=<planted>; sid=<valid>` the
 * first value is the attacker's, so the loader needs every value, in order.
 */
describe('SessionCookieCodec.readAll', () => {
  const OTHER = `${'c'.repeat(43)}.${'d'.repeat(43)}`;

  it('answers every value of the session cookie, in header order, and only those', () => {
    const c = codec();
    expect(c.readAll(`sid=x; sid=${VALUE}`)).toEqual(['x', VALUE]);
    expect(c.readAll(`sid=${VALUE}; a=1; sid=x; sidx=2; xsid=3; SID=4; sid=${OTHER}`)).toEqual([
      VALUE,
      'x',
      OTHER,
    ]);
    expect(c.readAll(`a=1;sid=${VALUE};b=2`)).toEqual([VALUE]);
    expect(codec({ name: '__Host-sid' }).readAll(`sid=x; __Host-sid=a; __Host-sid=b`)).toEqual([
      'a',
      'b',
    ]);
  });

  it('parses as read() does: blanks trimmed, pairs without = skipped, = inside values kept, no URI-decoding', () => {
    const c = codec();
    expect(c.readAll(' \tsid \t= a \t;sid=b=c; sid; junk;sid=%61;sid=')).toEqual([
      'a',
      'b=c',
      '%61',
      '',
    ]);
    expect(c.readAll('s i d=1; sid =2')).toEqual(['2']);
    expect(c.readAll('a=sid; sid')).toEqual([]);
  });

  it('answers [] for no session cookie, a non-string or a header over 16 KB', () => {
    const c = codec();
    for (const header of ['', 'a=1', 'sidx=1', ';;;', undefined, null, 42, ['sid=x'], {}]) {
      expect(c.readAll(header)).toEqual([]);
    }
    expect(c.readAll(`sid=${VALUE}; pad=${'x'.repeat(16_384)}`)).toEqual([]);
  });

  it(`stops after ${MAX_SESSION_COOKIE_VALUES} values, so a header full of session cookies stays cheap`, () => {
    const values = Array.from({ length: 500 }, (_, i) => `v${i}`);
    const all = codec().readAll(values.map((v) => `sid=${v}`).join('; '));
    expect(all).toEqual(values.slice(0, MAX_SESSION_COOKIE_VALUES));
  });

  it('stays linear on hostile headers (16 KB of separators before the one pair)', () => {
    const c = codec();
    const headers = [
      `${';'.repeat(16_000)}sid=x`,
      `${'sid;'.repeat(4_000)}sid=x`,
      `${'sid'.repeat(5_000)}=x`,
      `sid=${'='.repeat(16_000)}`,
    ];
    expect(headers.map((h) => c.readAll(h))).toEqual([['x'], ['x'], [], ['='.repeat(16_000)]]);
    // Measured on this machine: ~4 ms linear; ~2 s for a scan that searches for `=` afresh
    // from every `;` (quadratic), so the bound leaves room for a slow CI either way.
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) for (const h of headers) c.readAll(h);
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('never throws, and agrees with read() and with the cookie package on the first value', () => {
    const c = codec();
    const piece = fc.constantFrom('sid', 'SID', '=', ';', ' ', '\t', '"', '%', 'a', '__proto__');
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.array(piece, { maxLength: 60 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(header, (h) => {
        const all = c.readAll(h);
        expect(all.length).toBeLessThanOrEqual(MAX_SESSION_COOKIE_VALUES);
        expect(all[0]).toBe(c.read(h));
        expect(c.read(h)).toBe(parseCookie(h, { decode: (v) => v }).sid);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('SessionCookieCodec.serialize and clear', () => {
  const attrs = (setCookie: string) =>
    setCookie
      .split(/;\s*/)
      .slice(1)
      .map((a) => a.toLowerCase());

  it('writes the configured attributes: HttpOnly, SameSite=Lax, Path=/, Max-Age in whole seconds', () => {
    const header = codec().serialize(VALUE, 90_999);
    expect(header.startsWith(`sid=${VALUE};`)).toBe(true);
    expect(attrs(header).sort()).toEqual(['httponly', 'max-age=90', 'path=/', 'samesite=lax']);
  });

  it('adds Secure and Domain when configured, and omits HttpOnly when disabled', () => {
    const header = codec({
      name: '__Secure-sid',
      secure: true,
      domain: 'example.com',
      sameSite: 'strict',
      httpOnly: false,
    }).serialize(VALUE, 1000);
    expect(header.startsWith(`__Secure-sid=${VALUE};`)).toBe(true);
    expect(attrs(header).sort()).toEqual([
      'domain=example.com',
      'max-age=1',
      'path=/',
      'samesite=strict',
      'secure',
    ]);
  });

  it('never writes a negative Max-Age', () => {
    expect(attrs(codec().serialize(VALUE, -5000))).toContain('max-age=0');
  });

  it('clear() empties the cookie with Max-Age=0 and the same Path/Domain', () => {
    const header = codec({ domain: 'example.com' }).clear();
    expect(header.startsWith('sid=;')).toBe(true);
    expect(attrs(header)).toEqual(
      expect.arrayContaining(['max-age=0', 'path=/', 'domain=example.com']),
    );
  });

  it('round-trips: what serialize() writes, read() finds', () => {
    const c = codec();
    const pair = c.serialize(VALUE, 60_000).split(';')[0];
    expect(c.read(pair)).toBe(VALUE);
    expect(c.name).toBe('sid');
  });
});
