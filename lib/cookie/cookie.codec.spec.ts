import { describe, expect, it } from '@jest/globals';
import type { ResolvedSessionOptions } from '../session.options.js';
import { SessionCookieCodec } from './cookie.codec.js';

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
