import type { INestApplicationContext } from '@nestjs/common';
import { CookieSigner } from '../cookie/cookie.signer.js';
import {
  generateSessionHandle,
  generateSessionId,
  sessionStoreKey,
} from '../session/session-id.js';
import { isInternalKey } from '../session/internal-keys.js';
import { SessionTiming } from '../session/session-timing.js';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { SessionRecord } from '../stores/session-record.js';
import { SessionStore } from '../stores/session-store.interface.js';

/** Who {@link createSessionCookie} logs in, and what their session holds. */
export interface SessionCookieLogin {
  /** The user, as `session.logIn({ userId })` takes it (numbers are stored as strings). */
  userId: string | number;
  /** The user's roles, read by `@RequireSession({ roles })`. Default `[]`. */
  roles?: readonly string[];
  /** Top-level session keys and their (JSON-serializable) values, as `session.set()` takes them. */
  data?: Record<string, unknown>;
}

/**
 * Creates a logged-in session in the app's configured store, exactly as a
 * log-in would have left it (fresh ID, handle, `authenticatedAt` now), and
 * answers the `Cookie` header value that names it (`sid=<signed ID>`, with
 * the app's cookie name and first secret). For an app's own e2e tests: a
 * guarded route can be called without driving a log-in form.
 *
 * ```ts
 * const cookie = await createSessionCookie(app, { userId: 'alice', roles: ['admin'] });
 * await request(app.getHttpServer()).get('/admin').set('Cookie', cookie).expect(200);
 * ```
 *
 * `app` is the Nest app (or any context holding `SessionModule`), on
 * Express or Fastify alike; it must have been initialised (`app.init()` or
 * `listen()`), since the store and options are resolved then. No session
 * event is emitted, and the session counts against the user's per-user cap
 * like any log-in.
 */
export async function createSessionCookie(
  app: Pick<INestApplicationContext, 'get'>,
  login: SessionCookieLogin,
): Promise<string> {
  const options = resolve<ResolvedSessionOptions>(app, RESOLVED_SESSION_OPTIONS);
  const store = resolve<SessionStore>(app, SessionStore);
  const now = Date.now();
  const record: SessionRecord = {
    handle: generateSessionHandle(),
    createdAt: now,
    lastSeenAt: now,
    authenticatedAt: now,
    userId: userIdOf(login),
    data: serialize(login.data ?? {}),
  };
  const roles = rolesOf(login);
  if (roles.length > 0) record.roles = roles;
  const id = generateSessionId();
  // The store keeps a new session until its first timeout, plus the retention
  // that lets its next request be told why it ended (as the module's own writes).
  const ttl = new SessionTiming(options).storeTtl(now, now, now);
  await store.set(sessionStoreKey(id), record, ttl);
  return `${options.cookie.name}=${new CookieSigner(options.secrets).sign(id)}`;
}

function resolve<T>(app: Pick<INestApplicationContext, 'get'>, token: symbol): T {
  try {
    return app.get<T>(token, { strict: false });
  } catch {
    throw new TypeError(
      'createSessionCookie: the app has no SessionModule. Import SessionModule.forRoot(...) ' +
        '(or forRootAsync) in the app module, and pass the app after app.init().',
    );
  }
}

function userIdOf(login: SessionCookieLogin): string {
  const userId = (login as Partial<SessionCookieLogin> | null)?.userId;
  const usable =
    (typeof userId === 'string' && userId !== '') ||
    (typeof userId === 'number' && Number.isFinite(userId));
  if (!usable) {
    throw new TypeError(
      'createSessionCookie: userId must be a non-empty string or a finite number',
    );
  }
  return String(userId);
}

function rolesOf(login: SessionCookieLogin): string[] {
  const roles = login.roles ?? [];
  if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string' || role === '')) {
    throw new TypeError('createSessionCookie: roles must be an array of non-empty strings');
  }
  return [...roles];
}

/** Session data as the store keeps it: JSON text per top-level key. */
function serialize(data: Record<string, unknown>): Record<string, string> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TypeError('createSessionCookie: data must be an object of top-level session keys');
  }
  const serialized: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    // Keys starting with '$' are the module's own (CSRF secret, bindings): session.set() refuses them too.
    if (isInternalKey(key)) {
      throw new TypeError(
        `createSessionCookie: data key '${key}' is reserved (keys starting with '$')`,
      );
    }
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new TypeError(`createSessionCookie: data '${key}' is not JSON-serializable`);
    }
    serialized[key] = text;
  }
  return serialized;
}
