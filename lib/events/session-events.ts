import { Subject, type Observable } from 'rxjs';
import { boundedUserAgent, type EventOrigin } from './event-origin.js';
import type { SessionEvent } from './session-event.js';

/** Omit, member by member: a plain Omit of a union would lose which `reason` goes with which `type`. */
type Unstamped<E> = E extends unknown ? Omit<E, 'at' | 'ip' | 'userAgent'> : never;

/** An event as its emitter gives it: `at`, and `ip`/`userAgent` from its origin, are stamped here. */
export type SessionEventInput = Unstamped<SessionEvent>;

/** The module's event bus; `emit` costs next to nothing while nobody listens. */
export class SessionEvents {
  private readonly subject = new Subject<SessionEvent>();

  readonly events$: Observable<SessionEvent> = this.subject.asObservable();

  /** Whether anybody listens: emitters with costly events may skip building them. */
  get observed(): boolean {
    return this.subject.observed;
  }

  /** Emits `event`, with the request metadata of `origin` when a request caused it. */
  emit(event: SessionEventInput, origin?: EventOrigin): void {
    if (!this.subject.observed) return;
    const stamped = { ...event, at: Date.now() } as SessionEvent;
    if (origin) {
      stamped.ip = origin.clientAddress();
      const agent = boundedUserAgent(origin);
      if (agent !== undefined) stamped.userAgent = agent;
    }
    this.subject.next(stamped);
  }

  complete(): void {
    this.subject.complete();
  }
}
