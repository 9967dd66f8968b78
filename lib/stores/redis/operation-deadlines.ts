interface Pending {
  deadline: number;
  expire(): void;
}

/**
 * Upper bounds on store calls without a timer per call: one interval sweeps
 * the calls in flight and fails those past their deadline. A call costs a
 * Set insertion instead of a setTimeout + Promise.race, which matters on a
 * path taken by every request; the bound is kept within a tick of the sweep.
 */
export class OperationDeadlines {
  private readonly pending = new Set<Pending>();
  private sweeper?: NodeJS.Timeout;
  private readonly tickMs: number;

  constructor(private readonly timeoutMs: number) {
    this.tickMs = Math.max(10, Math.min(100, Math.floor(timeoutMs / 10)));
  }

  run<T>(work: () => Promise<T>, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const entry: Pending = {
        deadline: Date.now() + this.timeoutMs,
        expire: () => {
          settled = true;
          reject(timeoutError());
        },
      };
      this.pending.add(entry);
      this.sweeper ??= setInterval(() => this.sweep(), this.tickMs).unref();
      work().then(
        (value) => {
          this.pending.delete(entry);
          if (!settled) resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(entry);
          if (!settled) reject(error);
        },
      );
    });
  }

  /** Stops the sweeper (calls still in flight keep their own outcome). */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(entry);
        entry.expire();
      }
    }
    if (this.pending.size === 0) this.close();
  }
}
