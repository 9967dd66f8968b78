import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { generateSessionId, sessionStoreKey } from '../session/session-id.js';
import { CookieSigner, SIGNED_ID_LENGTH } from './cookie.signer.js';

const CURRENT = 'current-secret-current-secret-0001';
const RETIRED = 'retired-secret-retired-secret-0002';
const OTHER = 'unrelated-secret-unrelated-secret-03';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('CookieSigner', () => {
  const id = generateSessionId();

  it('signs as id.HMAC-SHA256(id) in base64url, 87 characters', () => {
    const signed = new CookieSigner([CURRENT]).sign(id);
    expect(signed).toHaveLength(SIGNED_ID_LENGTH);
    expect(signed).toBe(`${id}.${createHmac('sha256', CURRENT).update(id).digest('base64url')}`);
  });

  it('verifies its own signature and answers the ID', () => {
    const signer = new CookieSigner([CURRENT]);
    expect(signer.verify(signer.sign(id))).toEqual({
      id,
      key: sessionStoreKey(id),
      signedWithRetiredSecret: false,
    });
  });

  it('signs with the first secret of the list', () => {
    expect(new CookieSigner([CURRENT, RETIRED]).sign(id)).toBe(
      new CookieSigner([CURRENT]).sign(id),
    );
  });

  it('secret rotation: a value signed with a retired secret verifies and is flagged', () => {
    const old = new CookieSigner([RETIRED]).sign(id);
    const rotated = new CookieSigner([CURRENT, RETIRED]);
    expect(rotated.verify(old)).toEqual({
      id,
      key: sessionStoreKey(id),
      signedWithRetiredSecret: true,
    });
    expect(rotated.verify(rotated.sign(id))).toEqual({
      id,
      key: sessionStoreKey(id),
      signedWithRetiredSecret: false,
    });
    // a third, later secret in the list works too
    expect(new CookieSigner([OTHER, CURRENT, RETIRED]).verify(old)).toEqual({
      id,
      key: sessionStoreKey(id),
      signedWithRetiredSecret: true,
    });
  });

  it('once a secret is dropped from the list, its values no longer verify', () => {
    const old = new CookieSigner([RETIRED]).sign(id);
    expect(new CookieSigner([CURRENT]).verify(old)).toBeNull();
  });

  it('fails with a wrong secret', () => {
    expect(new CookieSigner([CURRENT]).verify(new CookieSigner([OTHER]).sign(id))).toBeNull();
  });

  it('fails on any tampered character, in the ID, the dot or the signature', () => {
    const signer = new CookieSigner([CURRENT]);
    const signed = signer.sign(id);
    for (let at = 0; at < signed.length; at++) {
      const replacement = signed[at] === 'A' ? 'B' : 'A';
      const tampered = signed.slice(0, at) + replacement + signed.slice(at + 1);
      expect(signer.verify(tampered)).toBeNull();
    }
  });

  it('fails on a truncated, extended, re-ordered or re-used signature', () => {
    const signer = new CookieSigner([CURRENT]);
    const signed = signer.sign(id);
    const [idPart, sig] = signed.split('.');
    const otherId = generateSessionId();
    for (const bad of [
      signed.slice(0, -1),
      `${signed}A`,
      `${signed}.`,
      ` ${signed}`,
      `${sig}.${idPart}`,
      `${otherId}.${sig}`, // another ID with this ID's signature
      `${idPart}.`,
      idPart,
      `${idPart}${sig}`,
      `${idPart}.${sig}=`,
      '',
    ]) {
      expect(signer.verify(bad)).toBeNull();
    }
  });

  it('rejects a non-canonical base64url signature that decodes to the same bytes', () => {
    const signer = new CookieSigner([CURRENT]);
    const signed = signer.sign(id);
    // the last of 43 characters carries 4 data bits and 2 padding bits: vary the padding bits
    const last = B64URL.indexOf(signed.at(-1)!);
    for (let pad = 1; pad < 4; pad++) {
      const variant = signed.slice(0, -1) + B64URL[(last & ~3) | ((last + pad) & 3)];
      expect(
        Buffer.from(variant.slice(44), 'base64url').equals(
          Buffer.from(signed.slice(44), 'base64url'),
        ),
      ).toBe(true);
      expect(signer.verify(variant)).toBeNull();
    }
  });

  it('rejects IDs that are not 43 base64url characters even when correctly signed', () => {
    const signer = new CookieSigner([CURRENT]);
    const mac = (value: string) => createHmac('sha256', CURRENT).update(value).digest('base64url');
    for (const badId of [
      'short',
      id.slice(0, 42) + '+',
      id.slice(0, 42) + '/',
      `${id.slice(0, 42)}.`,
    ]) {
      expect(signer.verify(`${badId}.${mac(badId)}`)).toBeNull();
    }
  });

  it('never throws on non-string input', () => {
    const signer = new CookieSigner([CURRENT]);
    for (const value of [undefined, null, 42, {}, [], Symbol('x'), { length: 87 }]) {
      expect(signer.verify(value as unknown as string)).toBeNull();
    }
  });

  it('needs at least one secret', () => {
    expect(() => new CookieSigner([])).toThrow(TypeError);
  });
});

describe('CookieSigner: remembered verifications', () => {
  it('remembers values that verified, and answers them the same way again', () => {
    const signer = new CookieSigner([CURRENT, RETIRED]);
    const fresh = signer.sign(generateSessionId());
    const old = new CookieSigner([RETIRED]).sign(generateSessionId());
    const first = [signer.verify(fresh), signer.verify(old)];
    expect(signer.rememberedCount).toBe(2);
    expect([signer.verify(fresh), signer.verify(old)]).toEqual(first);
    expect(first[1]).toMatchObject({ signedWithRetiredSecret: true });
  });

  it('never remembers a value that failed, so hostile input cannot grow it', () => {
    const signer = new CookieSigner([CURRENT]);
    const foreign = new CookieSigner([OTHER]);
    for (let i = 0; i < 200; i++)
      expect(signer.verify(foreign.sign(generateSessionId()))).toBeNull();
    expect(signer.rememberedCount).toBe(0);
  });

  it('a remembered value is not a key to its neighbours: one changed character still fails', () => {
    const signer = new CookieSigner([CURRENT]);
    const signed = signer.sign(generateSessionId());
    signer.verify(signed);
    const last = signed.at(-1) === 'A' ? 'B' : 'A';
    expect(signer.verify(signed.slice(0, -1) + last)).toBeNull();
  });

  it('is bounded: the oldest value goes first, and is verified in full when seen again', () => {
    const signer = new CookieSigner([CURRENT], 3);
    const values = Array.from({ length: 5 }, () => signer.sign(generateSessionId()));
    for (const value of values) signer.verify(value);
    expect(signer.rememberedCount).toBe(3);
    expect(signer.verify(values[0])).toMatchObject({ signedWithRetiredSecret: false });
    expect(signer.rememberedCount).toBe(3);
  });
});
