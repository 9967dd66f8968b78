import type { SessionPatch, SessionRecord, UserSessionEntry } from '../session-record.js';
import {
  MAX_FORWARD_HOPS,
  type RedeemOutcome,
  type RedeemRequest,
  type RotateOutcome,
} from '../session-store.interface.js';
import { ClusterUserIndex, INLINE } from './cluster-index.js';
import { runScript } from './redis-driver.js';
import {
  asString,
  forwardArgs,
  indexedUser,
  keepFor,
  patchArgs,
  redeemArgs,
  redeemReply,
  revokeFollowing,
  rotateOutcome,
  toTtl,
  type Bounded,
  type ConditionalRotate,
  type RedisTopologyOperations,
  type RedisTopologySettings,
} from './redis-topology.js';
import { DESTROY, ENFORCE_SLACK, EXTEND, MOVE, PUT, REDEEM, UPDATE } from './redis.scripts.js';
import { encodeRecord } from './session-hash.js';

/** The index node's clock and a session node's clock may differ by this much. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * The store on Cluster: a session and its user index live on different
 * slots, so set, rotate, destroy and revoke take a few ordered steps (each
 * method's "Cluster order:" says why its order is safe; the index steps are
 * in cluster-index.ts). `update` stays one round trip but when the index
 * must be extended first, rarely.
 */
export class ClusterOperations implements RedisTopologyOperations {
  private readonly index: ClusterUserIndex;

  constructor(private readonly settings: RedisTopologySettings) {
    this.index = new ClusterUserIndex(settings);
  }

  /**
   * set and a log-in's rotate. Cluster order: (1) index the new key, so the
   * session is never live outside its index; (2) on rotate, delete the old
   * session, so a failure never leaves it readable; (3) write the session;
   * (4) drop stale index entries; (5) enforce maxSessionsPerUser (`capped`:
   * a new session, not a rotation).
   */
  async put(
    key: string,
    oldKey: string | undefined,
    record: SessionRecord,
    ttlMs: number,
    capped = true,
  ): Promise<void> {
    const { driver, prefix, maxSessionsPerUser } = this.settings;
    const user = indexedUser(record);
    const limited = capped && maxSessionsPerUser !== Infinity;
    let horizon = '';
    let members = 0;
    if (user) {
      const [indexHorizon, count] = await this.index.add(user, key, ttlMs, false);
      horizon = String(indexHorizon - CLOCK_MARGIN_MS);
      members = count;
    }
    let oldUser: string | null = null;
    if (oldKey !== undefined) {
      const reply = await runScript(driver, DESTROY, [prefix + oldKey], [INLINE, prefix, oldKey]);
      oldUser = Array.isArray(reply) ? asString(reply[0]) : null;
    }
    const reply = await runScript(
      driver,
      PUT,
      [prefix + key],
      [
        INLINE,
        prefix,
        key,
        oldKey ?? '',
        String(toTtl(ttlMs)),
        String(keepFor(ttlMs)),
        user,
        limited ? String(maxSessionsPerUser) : '0',
        horizon,
        ...encodeRecord(record),
      ],
    );
    const previous = Array.isArray(reply) ? asString(reply[0]) : null;
    if (oldUser && oldKey !== undefined) await this.index.remove(oldUser, [oldKey]);
    if (previous && previous !== user) await this.index.remove(previous, [key]);
    if (user && limited && members > maxSessionsPerUser) {
      // As enforce_max on standalone: only the oldest (excess + slack)
      // entries are read, dead ones pruned first, so a user at the cap costs
      // a few reads per log-in rather than one per session.
      let over = members - maxSessionsPerUser;
      const { live, dead } = await this.index.read(user, over + ENFORCE_SLACK);
      if (dead.length > 0) await this.index.prune(user, dead);
      over -= dead.length;
      const others = live.filter((entry) => entry.key !== key);
      const excess = others.slice(0, Math.max(0, over));
      const revokedAt = String(Date.now());
      await this.index.revokeSessions(
        user,
        excess.map((entry) => entry.key),
        revokedAt,
        '',
      );
    }
  }

  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    const { driver, prefix } = this.settings;
    const ttl = String(toTtl(ttlMs));
    const keep = String(keepFor(ttlMs));
    const fields = patchArgs(patch);
    let target = key;
    for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
      const k = prefix + target;
      const reply = await runScript(
        driver,
        UPDATE,
        [k],
        [INLINE, prefix, target, ttl, keep, ...fields],
      );
      if (reply === 0) return false;
      if (reply === 1) return true;
      const [code, value] = Array.isArray(reply) ? [reply[0], asString(reply[1])] : [];
      if (value === null || value === undefined) throw new Error('unexpected reply to update');
      if (code === 3) {
        target = value;
        continue;
      }
      if (code !== 2) throw new Error('unexpected reply to update');
      // Cluster, rarely: the session's TTL would pass its index's horizon.
      // Extend the index first, then the session, so it never outlives it.
      const [horizon] = await this.index.add(value, target, ttlMs, true);
      await runScript(driver, EXTEND, [k], [value, ttl, String(horizon - CLOCK_MARGIN_MS)]);
      return true;
    }
    return false;
  }

  /**
   * Cluster order: (1) index the new key, (2) write the new session, (3)
   * MOVE the old key (the conditional step), (4) when MOVE did not answer
   * "rotated", delete the new session again; else unindex the old key. So a
   * forward always leads to a session that exists, and a destroy or revoke
   * of the old key that comes first makes step 3 fail.
   */
  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: ConditionalRotate,
  ): Promise<RotateOutcome> {
    const { driver, prefix } = this.settings;
    const user = indexedUser(record);
    await this.put(newKey, undefined, record, ttlMs, false);
    const reply = await runScript(
      driver,
      MOVE,
      [prefix + oldKey],
      [...forwardArgs(options), newKey],
    );
    const outcome = rotateOutcome(reply);
    if (outcome.status !== 'rotated') {
      await runScript(driver, DESTROY, [prefix + newKey], [INLINE, prefix, newKey]);
      if (user) await this.index.remove(user, [newKey]);
    } else {
      const oldUser = Array.isArray(reply) ? asString(reply[1]) : null;
      if (oldUser) await this.index.remove(oldUser, [oldKey]);
    }
    return outcome;
  }

  /**
   * Cluster order per key: delete the session, then remove its index entry,
   * so a failure in between leaves only a dangling index entry (pruned
   * later).
   */
  async destroy(key: string): Promise<void> {
    const { driver, prefix } = this.settings;
    let target: string | null = key;
    for (let hops = 0; target && hops <= MAX_FORWARD_HOPS; hops++) {
      const reply = await runScript(driver, DESTROY, [prefix + target], [INLINE, prefix, target]);
      const [user, movedTo] = Array.isArray(reply)
        ? [asString(reply[0]), asString(reply[1])]
        : [null, null];
      if (user) await this.index.remove(user, [target]);
      target = movedTo;
    }
  }

  /** Cluster order: tombstone first, then the index entry (as for destroy). */
  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    const ttl = String(toTtl(ttlMs));
    const revoked = await revokeFollowing(this.settings, INLINE, key, String(revokedAt), ttl, '');
    if (revoked) await this.index.remove(revoked.user, [revoked.key]);
    return revoked !== null;
  }

  /** The index is read (each session one HGETALL), then its dead members are pruned. */
  async listForUser(userId: string, bounded: Bounded): Promise<UserSessionEntry[]> {
    return bounded(async () => {
      const { live, dead } = await this.index.read(userId);
      if (dead.length > 0) await this.index.prune(userId, dead);
      return live;
    });
  }

  /**
   * The index is read, then each session is revoked (only if still that
   * user's), then the revoked entries leave the index.
   */
  async revokeAllForUser(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey: string | undefined,
    bounded: Bounded,
  ): Promise<number> {
    const ttl = String(toTtl(ttlMs));
    return bounded(async () => {
      const { live } = await this.index.read(userId);
      const targets = live.map((entry) => entry.key).filter((key) => key !== exceptKey);
      return this.index.revokeSessions(userId, targets, String(revokedAt), ttl);
    });
  }

  /**
   * One REDEEM script on the family's key decides and writes (the atomic
   * step); the index steps follow, as after revoke and update: a family
   * revoked for reuse leaves the index, and, rarely, a rotated family whose
   * TTL would pass its index's horizon extends the index, then itself.
   */
  async redeem(key: string, request: RedeemRequest): Promise<RedeemOutcome> {
    const { driver, prefix } = this.settings;
    const k = prefix + key;
    const { outcome, user, extendTtl } = redeemReply(
      await runScript(driver, REDEEM, [k], [INLINE, prefix, key, ...redeemArgs(request)]),
    );
    if (outcome.status === 'reused' && user) await this.index.remove(user, [key]);
    if (extendTtl !== undefined) {
      const [horizon] = await this.index.add(user, key, extendTtl, true);
      const horizonArg = String(horizon - CLOCK_MARGIN_MS);
      await runScript(driver, EXTEND, [k], [user, String(extendTtl), horizonArg]);
    }
    return outcome;
  }
}
