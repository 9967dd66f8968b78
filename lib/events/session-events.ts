import { Subject, type Observable } from 'rxjs';
import type { SessionEvent } from './session-event.js';

/** The module's event bus; `emit` costs next to nothing while nobody listens. */
export class SessionEvents {
  private readonly subject = new Subject<SessionEvent>();

  readonly events$: Observable<SessionEvent> = this.subject.asObservable();

  emit(event: Omit<SessionEvent, 'at'>): void {
    if (this.subject.observed) this.subject.next({ ...event, at: Date.now() });
  }

  complete(): void {
    this.subject.complete();
  }
}
