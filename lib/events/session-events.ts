import { Subject, type Observable } from 'rxjs';
import type { SessionEvent } from './session-event.js';

/** Omit, member by member: a plain Omit of a union would lose which `reason` goes with which `type`. */
type Unstamped<E> = E extends unknown ? Omit<E, 'at'> : never;

/** An event as its emitter gives it: `at` is stamped here. */
export type SessionEventInput = Unstamped<SessionEvent>;

/** The module's event bus; `emit` costs next to nothing while nobody listens. */
export class SessionEvents {
  private readonly subject = new Subject<SessionEvent>();

  readonly events$: Observable<SessionEvent> = this.subject.asObservable();

  emit(event: SessionEventInput): void {
    if (this.subject.observed) this.subject.next({ ...event, at: Date.now() });
  }

  complete(): void {
    this.subject.complete();
  }
}
