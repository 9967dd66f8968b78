import type { EventOrigin } from '../events/event-origin.js';
import { reportCapped } from '../events/report-capped.js';
import type { SessionEvents } from '../events/session-events.js';
import type { ResolvedTokenOptions } from '../options/token-options.js';
import { familyEndsAt, isLiveRecord, type SessionRecord } from '../stores/session-record.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import type { StoreOutageMonitor } from '../stores/store-outage.js';
import {
  familyOf,
  familyStoreKey,
  generateFamilyHandle,
  generateRefreshToken,
  openSuccessor,
  refreshTokenDigest,
  sealSuccessor,
} from './refresh-token.js';
import { TokenVerificationError } from './token.errors.js';

/** A family as a log-in or a refresh leaves it: who it speaks for and its current refresh token. */
export interface RedeemedFamily {
  record: SessionRecord;
  refreshToken: string;
}

/** What the families need of the module. */
export interface RefreshFamilySettings {
  store: SessionStore;
  outage: StoreOutageMonitor;
  events: SessionEvents;
  tokens: ResolvedTokenOptions;
  /** How long a revoked family's tombstone is kept (so its tokens are told `token_revoked`). */
  endedRetentionMs: number;
}

/**
 * Refresh-token families in the session store: created at log-in, rotated
 * by every refresh in one atomic store step, revoked whole when a rotated
 * token comes back. A family is a record of the user's, next to their
 * cookie sessions, so listing and "log out everywhere" see both kinds.
 */
export class RefreshFamilies {
  constructor(private readonly settings: RefreshFamilySettings) {
    if (!settings.store.redeemRefreshToken) {
      throw new Error(
        `Token sessions need a store with refresh-token families; ${settings.store.constructor.name} has no redeemRefreshToken(). ` +
          'Potential solutions: use MemoryStore or RedisStore, or implement redeemRefreshToken (see runSessionStoreContract).',
      );
    }
  }

  /** Starts a family for a user: its first refresh token. */
  async create(
    userId: string,
    roles: readonly string[],
    origin?: EventOrigin,
  ): Promise<RedeemedFamily> {
    const { store, outage, events, tokens } = this.settings;
    const family = generateFamilyHandle();
    const refreshToken = generateRefreshToken(family);
    const now = Date.now();
    const record: SessionRecord = {
      handle: family,
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: now,
      userId,
      roles: [...roles],
      refresh: { current: refreshTokenDigest(refreshToken), generation: 1 },
      data: {},
    };
    // Kept past its end, as cookie sessions are, so an expired family is told token_expired.
    const ttlMs =
      Math.min(tokens.refreshTtlMs, tokens.refreshIdleMs) + this.settings.endedRetentionMs;
    const written = await outage.run(
      () => store.set(familyStoreKey(family), record, ttlMs),
      'set',
      'token',
      origin,
    );
    events.emit({ type: 'token_issued', kind: 'token', handle: family, userId }, origin);
    reportCapped(events, written?.capped, userId, origin);
    return { record, refreshToken };
  }

  /**
   * Redeems a refresh token: its successor, or a {@link TokenVerificationError}
   * with `token_invalid` (unknown, malformed), `token_expired`,
   * `token_revoked` or `refresh_reused` (the family is revoked by this call).
   */
  redeem(refreshToken: unknown, origin?: EventOrigin): Promise<RedeemedFamily> {
    return this.exchange(refreshToken, true, origin);
  }

  /**
   * {@link redeem}; `asRefresh` false when it only proves possession for a
   * logout, which is reported as the logout (`destroyed`), not as a refresh.
   */
  private async exchange(
    refreshToken: unknown,
    asRefresh: boolean,
    origin: EventOrigin | undefined,
  ): Promise<RedeemedFamily> {
    const { store, outage, events, tokens } = this.settings;
    const family = familyOf(refreshToken);
    if (family === undefined) throw new TokenVerificationError('token_invalid', 'malformed');
    const presented = refreshToken as string;
    const successor = generateRefreshToken(family);
    const outcome = await outage.run(
      () =>
        store.redeemRefreshToken!(familyStoreKey(family), {
          presented: refreshTokenDigest(presented),
          successor: refreshTokenDigest(successor),
          sealedSuccessor:
            tokens.reuseGraceMs > 0 ? sealSuccessor(presented, successor) : undefined,
          now: Date.now(),
          idleMs: tokens.refreshIdleMs,
          absoluteMs: tokens.refreshTtlMs,
          graceMs: tokens.reuseGraceMs,
          revokedTtlMs: this.settings.endedRetentionMs,
          retainMs: this.settings.endedRetentionMs,
        }),
      'redeemRefreshToken',
      'token',
      origin,
    );
    const userId = 'record' in outcome ? outcome.record.userId : undefined;
    switch (outcome.status) {
      case 'rotated':
        if (asRefresh) {
          events.emit({ type: 'token_refreshed', kind: 'token', handle: family, userId }, origin);
        }
        return { record: outcome.record, refreshToken: successor };
      case 'replayed': {
        const same = openSuccessor(presented, outcome.sealedSuccessor);
        if (same === undefined) throw new TokenVerificationError('token_invalid', 'unsealable');
        if (asRefresh) {
          events.emit(
            { type: 'token_refreshed', kind: 'token', handle: family, userId, reason: 'grace' },
            origin,
          );
        }
        return { record: outcome.record, refreshToken: same };
      }
      case 'reused':
        // The store revoked the family in the same step that found the reuse.
        events.emit({ type: 'refresh_reused', kind: 'token', handle: family, userId }, origin);
        events.emit(
          {
            type: 'destroyed',
            kind: 'token',
            handle: family,
            userId,
            reason: 'reuse',
            createdAt: outcome.record.createdAt,
          },
          origin,
        );
        throw new TokenVerificationError('refresh_reused', 'a rotated refresh token came back');
      case 'revoked':
        throw new TokenVerificationError('token_revoked', 'family revoked');
      case 'expired':
        throw new TokenVerificationError('token_expired', 'family past its lifetime');
      default:
        throw new TokenVerificationError('token_invalid', 'unknown refresh token');
    }
  }

  /**
   * Ends the family of `refreshToken` (a logout). Possession is proved by
   * redeeming it first, so that knowing a family's handle (the public `sid`
   * claim) is not enough to end it. Answers whether a live family ended;
   * anything unknown answers `false`, never an error (logout is idempotent).
   */
  async revoke(refreshToken: unknown, origin?: EventOrigin): Promise<boolean> {
    let redeemed: RedeemedFamily;
    try {
      redeemed = await this.exchange(refreshToken, false, origin);
    } catch (error) {
      if (error instanceof TokenVerificationError) return false;
      throw error;
    }
    const { store, outage, events, endedRetentionMs } = this.settings;
    const { handle, userId, createdAt } = redeemed.record;
    const revoked = await outage.run(
      () => store.revoke(familyStoreKey(handle), Date.now(), endedRetentionMs),
      'revoke',
      'token',
      origin,
    );
    if (revoked) {
      events.emit(
        { type: 'destroyed', kind: 'token', handle, userId, reason: 'logout', createdAt },
        origin,
      );
    }
    return revoked;
  }

  /**
   * Whether `family` is still a live family of `userId`: one store read
   * (`peek` where the store has it, so a long history costs nothing here).
   * A family the store no longer holds (expired, evicted) is not: fail closed.
   */
  async isLive(family: string, userId: string): Promise<boolean> {
    const { store, outage } = this.settings;
    const key = familyStoreKey(family);
    const record = await outage.run(
      () => (store.peek ? store.peek(key) : store.get(key)),
      store.peek ? 'peek' : 'get',
      'token',
    );
    return (
      record !== null &&
      record.refresh !== undefined &&
      isLiveRecord(record) &&
      record.userId === userId &&
      this.endsAt(record) > Date.now()
    );
  }

  private endsAt(record: SessionRecord): number {
    const { refreshTtlMs, refreshIdleMs } = this.settings.tokens;
    return familyEndsAt(record, refreshTtlMs, refreshIdleMs);
  }
}
