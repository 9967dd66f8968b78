/**
 * @internal What `@RequireSession()` stores as route metadata and
 * `SessionGuard` reads. A file of its own: the decorator applies the guard,
 * so the guard importing the decorator's file would make an import cycle.
 */
export interface SessionRequirement {
  roles?: readonly string[];
  freshWithinMs?: number;
  /** `@AllowAnonymous()`: the guard lets the request through without looking at its session. */
  anonymous?: true;
}
