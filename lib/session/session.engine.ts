import { SessionCookieCodec } from '../cookie/cookie.codec.js';
import { CookieSigner } from '../cookie/cookie.signer.js';
import { CsrfTokens } from '../csrf/csrf-tokens.js';
import { ExpirySweeper } from '../events/expiry-sweeper.js';
import type { SessionEvents } from '../events/session-events.js';
import { StoreTracing } from '../metrics/store-tracing.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import { StoreOutageMonitor } from '../stores/store-outage.js';
import { FailureLimiter } from './failure-limiter.js';
import type { SessionSettings } from './request-session.js';
import { SessionCommitter } from './session-committer.js';
import { SessionLoader } from './session-loader.js';
import { SessionTiming } from './session-timing.js';

/**
 * The session machinery of one module instance, built once from its options
 * and independent of the HTTP platform: the {@link SessionLoader} (cookie →
 * session), the {@link SessionCommitter} (what the request did → store and
 * cookies) and what both share. Every store call goes through the outage
 * monitor.
 */
export class SessionEngine {
  readonly signer: CookieSigner;
  readonly codec: SessionCookieCodec;
  readonly store: SessionStore;
  readonly outage: StoreOutageMonitor;
  readonly csrf: CsrfTokens;
  readonly timing: SessionTiming;
  readonly loader: SessionLoader;
  readonly committer: SessionCommitter;
  /** Reports sessions that ended with no request coming back; absent when `expirySweep` is off. */
  readonly sweeper?: ExpirySweeper;

  constructor(
    readonly options: ResolvedSessionOptions,
    /** The module's event bus (the guards emit their refusals on it too). */
    readonly events: SessionEvents,
  ) {
    this.signer = new CookieSigner(options.secrets);
    this.codec = new SessionCookieCodec(options.cookie);
    this.store = options.store;
    this.outage = new StoreOutageMonitor(events, StoreTracing.load(this.store));
    this.csrf = new CsrfTokens(options.secrets);
    this.timing = new SessionTiming(options);
    const settings: SessionSettings = {
      timing: this.timing,
      csrf: this.csrf,
      maxSessionBytes: options.maxSessionBytes,
    };
    const shared = { store: this.store, outage: this.outage, events, timing: this.timing };
    const bruteForce = options.bruteForce;
    this.loader = new SessionLoader({
      ...shared,
      codec: this.codec,
      signer: this.signer,
      settings,
      bindToUserAgent: options.bindToUserAgent,
      endedRetentionMs: options.endedRetentionMs,
      expirySwept: options.expirySweepMs !== undefined,
      limiter:
        bruteForce &&
        new FailureLimiter(
          this.store,
          this.outage,
          events,
          bruteForce.maxFailures,
          bruteForce.windowMs,
        ),
    });
    this.committer = new SessionCommitter({ ...shared, codec: this.codec, signer: this.signer });
    const { store } = this;
    if (options.expirySweepMs !== undefined && store.claimExpired) {
      this.sweeper = new ExpirySweeper({
        store: store as SessionStore & Required<Pick<SessionStore, 'claimExpired'>>,
        outage: this.outage,
        events,
        intervalMs: options.expirySweepMs,
        endedRetentionMs: options.endedRetentionMs,
        cookie: { idleMs: options.idleTimeoutMs, absoluteMs: options.absoluteTimeoutMs },
        tokens: options.tokens && {
          idleMs: options.tokens.refreshIdleMs,
          absoluteMs: options.tokens.refreshTtlMs,
        },
      });
    }
  }
}
