import type { CappedSession } from '../stores/session-store.interface.js';
import type { EventOrigin } from './event-origin.js';
import type { SessionEvents } from './session-events.js';

/**
 * One `destroyed` event (reason `limit`) per session the store's per-user
 * cap revoked while a new session or token family of `userId` was written;
 * `origin` is the request that logged in (the one that pushed them out).
 */
export function reportCapped(
  events: SessionEvents,
  capped: readonly CappedSession[] | undefined,
  userId: string | undefined,
  origin?: EventOrigin,
): void {
  for (const { handle, createdAt, kind } of capped ?? []) {
    events.emit({ type: 'destroyed', reason: 'limit', kind, handle, userId, createdAt }, origin);
  }
}
