/** Internal injection token of the validated, defaulted options. */
export const RESOLVED_SESSION_OPTIONS = Symbol('nest-session:resolved-options');

/** Metadata key of `@RequireSession()`, namespaced as in @nestjs/cache-manager. */
export const REQUIRE_SESSION_METADATA = 'session_module:require_session';
