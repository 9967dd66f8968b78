import { inspect } from 'node:util';
import type { RequestSession } from '../session/request-session.js';
import type { ExpressSession } from './express-session.interface.js';
import { withCallback } from './node-callback.js';
import { syncPassportLogin } from './passport-login.js';
import { SessionCookieView, type CookieViewOptions } from './session-cookie-view.js';

/** Names with a meaning of their own on an express-session Session: never data keys. */
const RESERVED = new Set([
  'id',
  'cookie',
  'regenerate',
  'save',
  'destroy',
  'reload',
  'touch',
  'resetMaxAge',
  'toJSON',
]);

/** What a data key that is not there falls back to: Object.prototype's own members. */
const OBJECT_METHODS = Object.prototype as unknown as Record<string, unknown>;

function reservedName(key: string): TypeError {
  return new TypeError(
    key === 'cookie'
      ? 'req.session.cookie is read-only (the cookie follows the SessionModule options)'
      : `req.session.${key} is part of the express-session API and cannot be assigned or deleted`,
  );
}

function regenerated(key: string): TypeError {
  return new TypeError(
    `Cannot change '${key}': this session object was regenerated; write to the new req.session`,
  );
}

/**
 * The state behind one `req.session` object. `detached` is set once the
 * session was regenerated through it: it then answers the data it had, read
 * only (express-session hands out a new object too; Passport's
 * `keepSessionInfo` copies the old one's data into the new).
 */
class FacadeCore {
  detached?: Record<string, unknown>;
  readonly cookie: SessionCookieView;
  /** The express-session methods, bound once; `self` (the proxy) is what they return. */
  readonly methods: Record<string, unknown>;
  self!: ExpressSession;

  constructor(
    readonly session: RequestSession,
    private readonly options: CookieViewOptions,
    private readonly replace: (next: ExpressSession) => void,
  ) {
    this.cookie = new SessionCookieView(session, options);
    this.methods = {
      regenerate: (cb?: unknown) => withCallback(this.self, () => this.regenerate(), cb),
      save: (cb?: unknown) => withCallback(this.self, () => this.save(), cb),
      destroy: (cb?: unknown) => withCallback(this.self, () => this.destroy(), cb),
      reload: (cb?: unknown) => withCallback(this.self, async () => {}, cb),
      touch: () => this.self,
      resetMaxAge: () => this.self,
      toJSON: () => this.toJSON(),
    };
  }

  keys(): string[] {
    return this.detached ? Object.keys(this.detached) : this.session.keys();
  }

  has(key: string): boolean {
    return this.detached ? Object.hasOwn(this.detached, key) : this.session.has(key);
  }

  read(key: string): unknown {
    if (this.detached) return Object.hasOwn(this.detached, key) ? this.detached[key] : undefined;
    return this.session.get(key);
  }

  write(key: string, value: unknown): void {
    if (RESERVED.has(key)) throw reservedName(key);
    if (this.detached) throw regenerated(key);
    this.session.set(key, value);
  }

  remove(key: string): void {
    if (RESERVED.has(key)) throw reservedName(key);
    if (this.detached) throw regenerated(key);
    this.session.unset(key);
  }

  toJSON(): Record<string, unknown> {
    const data: Record<string, unknown> = { cookie: this.cookie.toJSON() };
    for (const key of this.keys()) data[key] = this.read(key);
    return data;
  }

  private async regenerate(): Promise<void> {
    if (this.detached) throw regenerated('the session');
    const data: Record<string, unknown> = {};
    for (const key of this.session.keys()) data[key] = this.session.get(key);
    // express-session's regenerate: the stored session is destroyed (a
    // fixation defence: the old ID dies, and with it any log-in), and a new
    // empty one takes its place, created with a new ID when written to.
    await this.session.destroy();
    this.detached = data;
    this.replace(createExpressSessionFacade(this.session, this.options, this.replace));
  }

  private async destroy(): Promise<void> {
    if (this.detached) throw regenerated('the session');
    await this.session.destroy();
  }

  private async save(): Promise<void> {
    if (this.detached) throw regenerated('the session');
    await syncPassportLogin(this.session);
    await this.session.save();
  }
}

/**
 * An express-session `Session` over this module's session: a Proxy whose
 * properties are the session's top-level keys (read through `get()`, which
 * keeps the parsed value, so a change made in place is seen and written at
 * commit), with express-session's methods, `id` and `cookie`.
 *
 * @param replace called with the new `req.session` after `regenerate()`
 */
export function createExpressSessionFacade(
  session: RequestSession,
  options: CookieViewOptions,
  replace: (next: ExpressSession) => void,
): ExpressSession {
  const core = new FacadeCore(session, options, replace);
  // The target holds nothing but what util.inspect shows (it reads the target, not the traps).
  const target = {};
  Object.defineProperty(target, inspect.custom, { value: () => core.toJSON(), configurable: true });
  core.self = new Proxy(target, {
    get(_target, key) {
      if (typeof key === 'symbol') return key === inspect.custom ? () => core.toJSON() : undefined;
      if (key === 'id') return core.detached ? undefined : session.id;
      if (key === 'cookie') return core.cookie;
      if (Object.hasOwn(core.methods, key)) return core.methods[key];
      // A plain object's methods (hasOwnProperty, toString...), as an express-session Session has.
      if (key in Object.prototype && !core.has(key)) return OBJECT_METHODS[key];
      return core.read(key);
    },
    set(_target, key, value: unknown) {
      if (typeof key === 'symbol') return false;
      core.write(key, value);
      return true;
    },
    deleteProperty(_target, key) {
      if (typeof key === 'symbol') return false;
      core.remove(key);
      return true;
    },
    has(_target, key) {
      if (typeof key === 'symbol') return false;
      return RESERVED.has(key) || key in Object.prototype || core.has(key);
    },
    defineProperty(_target, key, descriptor) {
      if (typeof key === 'symbol' || !('value' in descriptor)) return false;
      core.write(key, descriptor.value);
      return true;
    },
    ownKeys() {
      return core.keys();
    },
    getOwnPropertyDescriptor(_target, key) {
      if (typeof key === 'symbol' || !core.has(key)) return undefined;
      return { value: core.read(key), writable: true, enumerable: true, configurable: true };
    },
  }) as ExpressSession;
  return core.self;
}
