import type { HttpBinding } from '../http/http-binding.js';
import type { PlatformRequest } from '../http/platform-request.js';
import type { RequestHook } from '../http/request-hook.js';
import type { RequestSession } from '../session/request-session.js';
import type { ExpressSession } from './express-session.interface.js';
import { createExpressSessionFacade } from './express-session-facade.js';
import type { CookieViewOptions } from './session-cookie-view.js';

/** What `req.session` needs of the module's per-request contexts. */
export interface RequestSessionSource {
  /** Starts (or joins) the request's session load; a promise when the store is asked. */
  load(request: PlatformRequest, response: unknown): unknown;
  /** The request's session once loaded. */
  loaded(request: PlatformRequest): RequestSession | undefined;
  /** Installs a hook that runs for every request before middleware, guards and handlers. */
  beforeRequests(hook: RequestHook): void;
}

/** What the installer reads of the module's options. */
export type RequestSessionOptions = CookieViewOptions & { expressSessionCompat: boolean };

/** Where a request keeps its `req.session` object and the error its load ended with (symbols: invisible to JSON). */
const FACADE = Symbol('nest-session:express-session');
const LOAD_FAILURE = Symbol('nest-session:express-session-load-failure');

interface FacadeHolder extends PlatformRequest {
  [FACADE]?: ExpressSession;
  [LOAD_FAILURE]?: unknown;
}

/** The error `req.session` throws without `expressSessionCompat` (what Nest's built-in `@Session()` reads). */
export const REQ_SESSION_OFF_MESSAGE =
  'req.session is not set up: nest-session-manager gives the session through its own ' +
  '@Session() decorator (the Session export of nest-session-manager), not through req.session, ' +
  "which Nest's built-in @Session() of @nestjs/common and code written for express-session read. " +
  'Potential solutions: use @Session() or getSession() of nest-session-manager, or set ' +
  'expressSessionCompat: true in SessionModule.forRoot() for an express-session compatible req.session.';

const NOT_LOADED_MESSAGE =
  "req.session was read before SessionModule loaded the request's session (it loads it in " +
  "Nest's request hook, before any middleware, once the app is initialized). Potential " +
  'solutions: read it in a middleware, guard, interceptor or handler of an initialized app, ' +
  'or use await getSession(context) from nest-session-manager.';

/**
 * An assignment (express-session, cookie-session or a test setting
 * `req.session`) makes an own property that hides the accessor: such code
 * keeps working next to this module.
 */
function shadow(this: object, value: unknown): void {
  Object.defineProperty(this, 'session', {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * `req.session`, defined once on the platform's request prototype (no
 * per-request work when nobody reads it):
 *
 * - with `expressSessionCompat`, the express-session facade. Sync property
 *   reads need the session loaded, so every request's session is loaded in
 *   Nest's request hook, before middleware, guards and handlers; a load that
 *   failed (store outage) throws its 503 when `req.session` is read, so
 *   routes that never read it still answer;
 * - without, a getter that throws {@link REQ_SESSION_OFF_MESSAGE}, so that
 *   Nest's built-in `@Session()` or code written for express-session fails
 *   with what to do instead of "Cannot read properties of undefined".
 *   Reading it is the only thing that throws: JSON.stringify and
 *   util.inspect of a request never call prototype getters.
 *
 * A platform whose requests have a `session` already (another session
 * plugin) keeps it; with `expressSessionCompat` on that is a startup error.
 */
export function installRequestSession(
  binding: HttpBinding,
  instance: unknown,
  source: RequestSessionSource,
  options: RequestSessionOptions,
): void {
  if (!options.expressSessionCompat) {
    binding.defineRequestAccessor(instance, 'session', {
      get() {
        throw new Error(REQ_SESSION_OFF_MESSAGE);
      },
      set: shadow,
    });
    return;
  }
  const defined = binding.defineRequestAccessor(instance, 'session', {
    get(this: object) {
      return facadeOf(this as FacadeHolder, source, options);
    },
    set: shadow,
  });
  if (!defined) {
    throw new Error(
      'expressSessionCompat: requests already have a `session` property (another session ' +
        'plugin, such as @fastify/session or @fastify/secure-session). Potential solutions: ' +
        'remove that plugin, or turn expressSessionCompat off.',
    );
  }
  source.beforeRequests((request, response, next) => {
    const holder = request as FacadeHolder;
    let loading: unknown;
    try {
      loading = source.load(holder, response);
    } catch (error) {
      holder[LOAD_FAILURE] = error;
      return next();
    }
    if (!(loading instanceof Promise)) return next();
    loading.then(
      () => next(),
      (error: unknown) => {
        holder[LOAD_FAILURE] = error;
        next();
      },
    );
  });
}

function facadeOf(
  holder: FacadeHolder,
  source: RequestSessionSource,
  options: CookieViewOptions,
): ExpressSession {
  const existing = holder[FACADE];
  if (existing) return existing;
  if (LOAD_FAILURE in holder) throw holder[LOAD_FAILURE];
  const session = source.loaded(holder);
  if (!session) throw new Error(NOT_LOADED_MESSAGE);
  const replace = (next: ExpressSession) => {
    holder[FACADE] = next;
  };
  return (holder[FACADE] = createExpressSessionFacade(session, options, replace));
}
