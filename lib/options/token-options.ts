import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { ValidateBy, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { parseDuration, type Duration } from '../utils/duration.js';
import { IsDuration, MIN_SECRET_LENGTH } from './option-validators.js';

/** Asymmetric signing algorithms offered for access tokens. */
export type AsymmetricTokenAlgorithm = 'EdDSA' | 'ES256';

/** A key as `node:crypto` holds it, or as a JWK (a JSON Web Key object). */
export type TokenKey = KeyObject | JsonWebKey;

/** An asymmetric key set (`tokens.keys`): one signing key, optional extra verification keys. */
export interface SessionTokenKeySet {
  /** `'EdDSA'` (Ed25519) or `'ES256'` (P-256). Every key of the set uses it. */
  alg: AsymmetricTokenAlgorithm;
  /** Key ID of `privateKey`, written in the `kid` header of every token signed. */
  kid: string;
  /** The private key that signs; its public half verifies and is published in the JWKS. */
  privateKey: TokenKey;
  /**
   * More public keys that verify (and are published), e.g. the previous
   * signing key during a rotation, each with its own `kid`. Default `[]`.
   */
  publicKeys?: Array<{ kid: string; key: TokenKey }>;
}

/** Access-token settings (`tokens` of `SessionModuleOptions`). */
export interface SessionTokenOptions {
  /**
   * HS256 secret(s), each at least 32 characters: the first signs, all
   * verify (put a new one first to rotate). Give this or `keys`, not both.
   */
  secret?: string | string[];
  /** EdDSA/ES256 key set, for tokens other services verify through `publicJwks()`. */
  keys?: SessionTokenKeySet;
  /** The `iss` claim written and required. Required. */
  issuer: string;
  /** The `aud` claim written and required. Required. */
  audience: string;
  /** Access-token lifetime. Default `'5m'`. */
  accessTtl?: Duration;
  /** Clock skew accepted on `exp`/`nbf`/`iat` (`0` for none). Default `'5s'`. */
  clockTolerance?: Duration;
  /**
   * How `AccessTokenGuard` learns that a token's family was revoked (logout,
   * reuse, "log out everywhere"). `'strict'` (default): one store read of the
   * family per request, so revocation takes effect at once, and a family the
   * store no longer holds counts as revoked (fail closed). `'none'`: purely
   * stateless, no store call, so a revoked family's access tokens keep
   * working until they expire (at most `accessTtl`).
   */
  revocation?: 'none' | 'strict';
  /** A refresh-token family's absolute lifetime, from log-in. Default `'14d'`. */
  refreshTtl?: Duration;
  /** A family unused (no refresh) this long ends. Default `'7d'`. */
  refreshIdle?: Duration;
  /**
   * How long after a rotation the previous refresh token may come back (a
   * client retrying a refresh whose answer it lost) and get the successor
   * already issued, the same token, no new branch. Only the immediately
   * previous token; anything older, or later, is reuse and revokes the
   * family. Default `0`: off, as RFC 9700 and Ory Hydra do.
   */
  reuseGrace?: Duration;
  /** The cookie that carries the refresh token to browsers (HttpOnly, SameSite=Strict). */
  refreshCookie?: RefreshCookieOptions;
}

/** `tokens.refreshCookie`. */
export interface RefreshCookieOptions {
  /**
   * Cookie name. Default `'refresh_token'`, or `'__Secure-refresh_token'`
   * when `secure` (a `__Host-` name would need `Path=/`).
   */
  name?: string;
  /** The path it is sent to: your refresh and logout routes. Default `'/tokens'`. */
  path?: string;
  /** Secure attribute. Default: the session cookie's (`true` in production). */
  secure?: boolean;
}

/** The options after validation, keys imported; what TokenService reads. */
export interface ResolvedTokenOptions {
  alg: 'HS256' | AsymmetricTokenAlgorithm;
  signingKey: KeyObject;
  /** `kid` header of signed tokens (asymmetric keys only). */
  signingKid?: string;
  /** Every key that verifies, the signing one first (secrets, or public keys with their kid). */
  verificationKeys: Array<{ kid?: string; key: KeyObject }>;
  issuer: string;
  audience: string;
  accessTtlMs: number;
  clockToleranceMs: number;
  revocation: 'none' | 'strict';
  refreshTtlMs: number;
  refreshIdleMs: number;
  reuseGraceMs: number;
  refreshCookie: Required<RefreshCookieOptions>;
}

/** `parseDuration`, with `0` allowed. */
function toleranceMs(value: unknown): number | undefined {
  return value === 0 || value === '0' ? 0 : parseDuration(value);
}

/** One check, so a missing value gets one message, not two. */
function IsNonEmptyString(options: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isNonEmptyString',
      validator: { validate: (value: unknown) => typeof value === 'string' && value !== '' },
    },
    options,
  );
}

function IsTolerance(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isTolerance',
      validator: {
        validate: (value: unknown) => toleranceMs(value) !== undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `tokens.clockTolerance must be 0 or a duration such as '5s' (got ${JSON.stringify(args?.value)})`,
      },
    },
    options,
  );
}

/** Exactly one of `secret` / `keys`; each secret long enough. */
function IsTokenKeyMaterial() {
  const problem = (object: TokenOptionsSchema): string | undefined => {
    const { secret, keys } = object;
    if (secret === undefined && keys === undefined) {
      return 'tokens needs a secret (HS256) or keys (EdDSA/ES256)';
    }
    if (secret !== undefined && keys !== undefined) return 'tokens takes secret or keys, not both';
    if (keys !== undefined) return keySetProblem(keys);
    const list = Array.isArray(secret) ? secret : [secret];
    const ok =
      list.length > 0 && list.every((s) => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH);
    return ok
      ? undefined
      : `tokens.secret must be at least ${MIN_SECRET_LENGTH} characters (every entry of the list)`;
  };
  return ValidateBy({
    name: 'isTokenKeyMaterial',
    validator: {
      validate: (_value: unknown, args?: ValidationArguments) =>
        problem(args!.object as TokenOptionsSchema) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        problem(args!.object as TokenOptionsSchema) ?? 'tokens: invalid key material',
    },
  });
}

function IsRevocation() {
  return ValidateBy({
    name: 'isTokenRevocation',
    validator: {
      validate: (value: unknown) => value === 'none' || value === 'strict',
      defaultMessage: (args?: ValidationArguments) =>
        `tokens.revocation must be 'strict' or 'none' (got ${JSON.stringify(args?.value)})`,
    },
  });
}

/** RFC 6265 cookie-name token (as cookie.name). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function IsRefreshCookie() {
  const problem = (value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return 'tokens.refreshCookie must be an object such as { name, path }';
    }
    const { name, path, secure, ...rest } = value as RefreshCookieOptions;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      return `tokens.refreshCookie: unknown option ${unknown.map((k) => `'${k}'`).join(', ')} (known: name, path, secure)`;
    }
    if (name !== undefined && (typeof name !== 'string' || !COOKIE_NAME.test(name))) {
      return 'tokens.refreshCookie.name must be a valid cookie name token';
    }
    if (name !== undefined && name.startsWith('__Host-')) {
      return "tokens.refreshCookie.name cannot start with '__Host-' (it needs Path=/, and the refresh cookie is scoped to its path)";
    }
    if (path !== undefined && (typeof path !== 'string' || !/^\/[^;\s]*$/.test(path))) {
      return "tokens.refreshCookie.path must start with '/' and contain no ';' or spaces";
    }
    if (secure !== undefined && typeof secure !== 'boolean') {
      return 'tokens.refreshCookie.secure must be a boolean';
    }
    return undefined;
  };
  return ValidateBy({
    name: 'isRefreshCookie',
    validator: {
      validate: (value: unknown) => problem(value) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        problem(args?.value) ?? 'tokens.refreshCookie is invalid',
    },
  });
}

/** The key types each algorithm signs with (Node's `asymmetricKeyType` / curve). */
function fitsAlgorithm(key: KeyObject, alg: AsymmetricTokenAlgorithm): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function importKey(key: TokenKey, kind: 'private' | 'public'): KeyObject {
  if (isKeyObject(key)) {
    if (kind === 'private' && key.type !== 'private') throw new Error('not a private key');
    return kind === 'public' && key.type === 'private' ? createPublicKey(key) : key;
  }
  return kind === 'private'
    ? createPrivateKey({ key, format: 'jwk' })
    : createPublicKey({ key, format: 'jwk' });
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KeyObject).export === 'function' &&
    'asymmetricKeyType' in value
  );
}

function keySetProblem(keys: unknown): string | undefined {
  if (typeof keys !== 'object' || keys === null) return 'tokens.keys must be an object';
  const { alg, kid, privateKey, publicKeys } = keys as SessionTokenKeySet;
  if (alg !== 'EdDSA' && alg !== 'ES256') return "tokens.keys.alg must be 'EdDSA' or 'ES256'";
  if (typeof kid !== 'string' || kid === '') return 'tokens.keys.kid must be a non-empty string';
  try {
    if (!fitsAlgorithm(importKey(privateKey, 'private'), alg)) {
      return `tokens.keys.privateKey is not a ${alg === 'EdDSA' ? 'Ed25519' : 'P-256'} key`;
    }
  } catch {
    return 'tokens.keys.privateKey must be a private KeyObject or a private JWK';
  }
  if (publicKeys === undefined) return undefined;
  if (!Array.isArray(publicKeys)) return 'tokens.keys.publicKeys must be an array';
  const kids = new Set([kid]);
  for (const entry of publicKeys) {
    if (typeof entry?.kid !== 'string' || entry.kid === '' || kids.has(entry.kid)) {
      return 'tokens.keys.publicKeys: every key needs its own non-empty kid';
    }
    kids.add(entry.kid);
    try {
      if (!fitsAlgorithm(importKey(entry.key, 'public'), alg)) {
        return `tokens.keys.publicKeys '${entry.kid}' is not a key for ${alg}`;
      }
    } catch {
      return `tokens.keys.publicKeys '${entry.kid}' must be a KeyObject or a JWK`;
    }
  }
  return undefined;
}

/** The `tokens` group with its defaults on the fields (documented on {@link SessionTokenOptions}). */
export class TokenOptionsSchema implements SessionTokenOptions {
  @IsTokenKeyMaterial()
  secret?: string | string[];

  keys?: SessionTokenKeySet;

  @IsNonEmptyString({ message: 'tokens.issuer is required (a string, the iss claim)' })
  issuer!: string;

  @IsNonEmptyString({ message: 'tokens.audience is required (a string, the aud claim)' })
  audience!: string;

  @IsDuration({ message: "tokens.accessTtl must be a positive duration such as '5m'" })
  accessTtl: Duration = '5m';

  @IsTolerance()
  clockTolerance: Duration = '5s';

  @IsRevocation()
  revocation: 'none' | 'strict' = 'strict';

  @IsDuration({ message: "tokens.refreshTtl must be a positive duration such as '14d'" })
  refreshTtl: Duration = '14d';

  @IsDuration({ message: "tokens.refreshIdle must be a positive duration such as '7d'" })
  refreshIdle: Duration = '7d';

  @IsTolerance({ message: "tokens.reuseGrace must be 0 or a duration such as '10s'" })
  reuseGrace: Duration = 0;

  @IsRefreshCookie()
  refreshCookie?: RefreshCookieOptions;
}

/**
 * What TokenService reads, from a group that passed validation.
 * `sessionCookieSecure`: the session cookie's Secure, the refresh cookie's default.
 */
export function resolveTokenOptions(
  options: TokenOptionsSchema,
  sessionCookieSecure: boolean,
): ResolvedTokenOptions {
  const secure = options.refreshCookie?.secure ?? sessionCookieSecure;
  const common = {
    issuer: options.issuer,
    audience: options.audience,
    accessTtlMs: parseDuration(options.accessTtl)!,
    clockToleranceMs: toleranceMs(options.clockTolerance)!,
    revocation: options.revocation,
    refreshTtlMs: parseDuration(options.refreshTtl)!,
    refreshIdleMs: parseDuration(options.refreshIdle)!,
    reuseGraceMs: toleranceMs(options.reuseGrace)!,
    refreshCookie: {
      name: options.refreshCookie?.name ?? (secure ? '__Secure-refresh_token' : 'refresh_token'),
      path: options.refreshCookie?.path ?? '/tokens',
      secure,
    },
  };
  if (options.keys) {
    const { alg, kid, privateKey, publicKeys = [] } = options.keys;
    const signingKey = importKey(privateKey, 'private');
    return {
      ...common,
      alg,
      signingKey,
      signingKid: kid,
      verificationKeys: [
        { kid, key: createPublicKey(signingKey) },
        ...publicKeys.map((entry) => ({ kid: entry.kid, key: importKey(entry.key, 'public') })),
      ],
    };
  }
  const secrets = Array.isArray(options.secret) ? options.secret : [options.secret!];
  const keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
  return {
    ...common,
    alg: 'HS256',
    signingKey: keys[0],
    verificationKeys: keys.map((key) => ({ key })),
  };
}
