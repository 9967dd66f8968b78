import type { ExecutionContext } from '@nestjs/common';
import { SessionContexts } from '../http/session-contexts.js';
import type { RequestSession } from '../session/request-session.js';
import { withGraphQLErrors } from './graphql-error-extensions.js';

/**
 * The session of a GraphQL operation for `@Session()` and `getSession()`:
 * that of the HTTP request the operation came in, loaded once per request.
 * Without a guard in front, the load happens here, as the resolver's
 * arguments are resolved; its failure (a store outage, 503
 * `store_unavailable`) then gets the GraphQL `extensions` a guard's refusal
 * has (`code`, `reason`), not the driver's generic internal error; so do
 * the errors of the session's own calls in the resolver (`destroy()`,
 * `save()`).
 */
export function graphqlSession(
  executionContext: ExecutionContext,
): RequestSession | Promise<RequestSession> {
  return withGraphQLErrors(() =>
    SessionContexts.fromAnyExecutionContext(executionContext).answersGraphQL().sessionOrPromise(),
  );
}
