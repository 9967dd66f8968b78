import type { INestApplication } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { RESOLVED_SESSION_OPTIONS } from '../../lib/session.constants.js';
import type { ResolvedSessionOptions } from '../../lib/session.options.js';
import { parseSetCookie } from './cookies.js';

/**
 * Every secret this test file's apps were given or handed out, each with
 * where it was seen: session IDs (Set-Cookie), refresh and access tokens
 * (JSON bodies, refresh cookies, Authorization headers), cookie and token
 * signing secrets and private keys (the apps' resolved options, the
 * sample's environment). The log-leak check
 * (log-leak.setup.ts) proves none of them reached a log line. Public values
 * (a session's handle, a token family) are never recorded: they are in log
 * lines by design.
 */
export const fileSecrets = new Map<string, string>();

/**
 * Shorter values are not recorded: every real secret here is longer (IDs and
 * refresh secrets are 43 characters, signing secrets at least 32), and short
 * ones could match ordinary log text by chance.
 */
const MIN_SECRET_LENGTH = 16;

export function recordSecret(value: string | undefined, origin: string): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH || fileSecrets.has(value)) return;
  fileSecrets.set(value, origin);
}

/**
 * The secrets in a sample environment: SESSION_SECRET and TOKEN_SECRET (comma
 * lists, each entry), TOKEN_PRIVATE_KEY as given (its `d` and PEM lines come
 * from the resolved options; a JWK is not split at its commas, its public
 * fields are no secret).
 */
export function recordEnvironmentSecrets(env: Record<string, string | undefined>): void {
  for (const name of ['SESSION_SECRET', 'TOKEN_SECRET'] as const) {
    for (const part of (env[name] ?? '').split(',')) recordSecret(part.trim(), name);
  }
  recordSecret(env.TOKEN_PRIVATE_KEY, 'TOKEN_PRIVATE_KEY');
}

/**
 * The secrets in an app's resolved SessionModule options: cookie-signing
 * secrets, the token signing key (an HS256 secret, or a private key's `d`
 * and every line of its PEM) and HS256 verification secrets.
 */
export function recordOptionSecrets(app: INestApplication): void {
  const options = resolvedOptions(app);
  if (!options) return;
  for (const secret of options.secrets) recordSecret(secret, 'SessionModule secret');
  const tokens = options.tokens;
  if (!tokens) return;
  recordKey(tokens.signingKey, 'tokens signing key');
  for (const { key } of tokens.verificationKeys) {
    if (key.type === 'secret') recordKey(key, 'tokens verification secret');
  }
}

function resolvedOptions(app: INestApplication): ResolvedSessionOptions | undefined {
  try {
    return app.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS, { strict: false });
  } catch {
    return undefined; // an app without SessionModule
  }
}

function recordKey(key: KeyObject, origin: string): void {
  if (key.type === 'secret') {
    recordSecret(key.export().toString('utf8'), origin);
    return;
  }
  if (key.type !== 'private') return;
  recordSecret(key.export({ format: 'jwk' }).d, `${origin} (JWK d)`);
  const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  // Line by line: a log may print the PEM with escaped newlines, or a part of it.
  for (const line of pem.split('\n')) {
    if (!line.startsWith('-----')) recordSecret(line.trim(), `${origin} (PEM)`);
  }
}

/**
 * Records the secrets on every request and response of `app`'s HTTP server:
 * Set-Cookie values (the session ID before its signature, refresh tokens),
 * refresh and access tokens in JSON bodies, bearer tokens sent. A listener on the Node server itself, placed
 * before the framework's, so Express and Fastify are seen alike, whatever
 * the library's own hooks do to the response.
 */
export function recordSecretsOnTheWire(app: INestApplication): void {
  const options = resolvedOptions(app);
  const names = {
    session: options?.cookie.name ?? 'sid',
    refresh: options?.tokens?.refreshCookie.name ?? 'refresh_token',
  };
  const server = app.getHttpServer() as Server;
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const route = `${req.method} ${req.url}`;
    recordRequest(req, route);
    const body = collectBody(res);
    res.once('finish', () => recordResponse(res, body(), route, names));
  });
}

/**
 * A bearer token sent. Cookies sent are not recorded: a real ID was recorded
 * when it was set, and the rest is what a test made up (a forged ID, or a
 * session's public handle sent as one, which is in log lines by design).
 */
function recordRequest(req: IncomingMessage, route: string): void {
  const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer) recordAccessToken(bearer, `Authorization sent to ${route}`);
}

/** Bodies are kept up to this size: every JSON answer of the apps is far smaller. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * Wraps `res.write` and `res.end` to keep what they send; answers a reader
 * of it. The wrappers call the method the response's prototype has at call
 * time, not the one it had when the request came in: Express swaps the
 * prototype for its own (where the library gates writes until the session
 * is committed), and that one must still run.
 */
function collectBody(res: ServerResponse): () => Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk as Uint8Array);
    if (size + buffer.length > MAX_BODY_BYTES) return;
    size += buffer.length;
    chunks.push(buffer);
  };
  type Method = (...args: unknown[]) => unknown;
  const inherited = (self: ServerResponse, name: 'write' | 'end') =>
    (Object.getPrototypeOf(self) as Record<typeof name, Method>)[name];
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return inherited(this, 'write').call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    keep(args[0], args[1]);
    return inherited(this, 'end').apply(this, args);
  } as ServerResponse['end'];
  return () => Buffer.concat(chunks);
}

function recordResponse(
  res: ServerResponse,
  body: Buffer,
  route: string,
  names: { session: string; refresh: string },
): void {
  // The header block as sent: whether the framework used setHeader() or writeHead(headers).
  const head = (res as ServerResponse & { _header?: string | null })._header ?? '';
  for (const line of head.split('\r\n')) {
    if (!/^set-cookie:/i.test(line)) continue;
    const cookie = parseSetCookie(line.slice(line.indexOf(':') + 1).trim());
    if (cookie.cleared) continue;
    const value = safeDecode(cookie.value);
    const origin = `Set-Cookie ${cookie.name} from ${route}`;
    recordSecret(value, origin);
    if (cookie.name === names.session) recordSecret(value.split('.')[0], origin);
    if (cookie.name === names.refresh) recordRefreshToken(value, origin);
  }
  if (!/^content-type:.*json/im.test(head) || body.length === 0) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return;
  }
  recordBodyTokens(parsed, route, 0);
}

/** `refreshToken` and `accessToken` fields anywhere in a JSON answer (a family or handle is public). */
function recordBodyTokens(value: unknown, route: string, depth: number): void {
  if (depth > 6 || value === null || typeof value !== 'object') return;
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string' && key === 'refreshToken') {
      recordRefreshToken(field, `refreshToken from ${route}`);
    } else if (typeof field === 'string' && key === 'accessToken') {
      recordAccessToken(field, `accessToken from ${route}`);
    } else {
      recordBodyTokens(field, route, depth + 1);
    }
  }
}

/** `family.secret`: the whole token, and the secret after the (public) family. */
function recordRefreshToken(token: string, origin: string): void {
  recordSecret(token, origin);
  recordSecret(token.slice(token.indexOf('.') + 1), origin);
}

/** A JWT: the whole token, and its signature (header and claims are public, the family among them). */
function recordAccessToken(token: string, origin: string): void {
  recordSecret(token, origin);
  recordSecret(token.split('.')[2], origin);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
