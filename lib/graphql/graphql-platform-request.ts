import type { ExecutionContext } from '@nestjs/common';
import type { PlatformRequest } from '../http/platform-request.js';

/** The platform request and response a GraphQL operation runs in. */
export interface GraphQLPlatformRequest {
  request: PlatformRequest;
  response: unknown;
}

/** The parts of a GraphQL context object this module looks at (every driver's shape, loosely). */
interface GraphQLContextShape {
  req?: unknown;
  res?: unknown;
  request?: unknown;
  reply?: unknown;
}

/** A Fastify reply: it knows its request (`reply.request`) and has a raw Node response. */
interface FastifyReplyShape {
  request: PlatformRequest;
  raw: object;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const isRequest = (value: unknown): value is PlatformRequest =>
  isObject(value) && isObject(value.headers);

const isFastifyReply = (value: unknown): value is FastifyReplyShape =>
  isObject(value) && isRequest(value.request) && isObject(value.raw);

const UNSUPPORTED_CONTEXT =
  'Sessions in GraphQL resolvers need the HTTP request and response in the GraphQL context, ' +
  'and this context has no response. Potential solutions: with Apollo on Express, leave ' +
  '`context` unset or pass `context: ({ req, res }) => ({ req, res })`; with Apollo on ' +
  'Fastify, pass `context: (request, reply) => ({ req: request, reply })`; with Mercurius, ' +
  'keep the `reply` Mercurius puts in the context.';

/**
 * Finds the HTTP request and response of a GraphQL operation in its
 * context, the resolver's third argument (read without `@nestjs/graphql`,
 * an optional peer). The shapes understood, first match wins:
 *
 * - `{ reply }` with a Fastify reply (`reply.request` is the request):
 *   Mercurius by default, Apollo on Fastify when configured;
 * - `{ req, res }` or `{ request, res }`: Apollo on Express as configured;
 * - `{ req }` with an Express request: Apollo on Express by default (Express
 *   links every request to its response as `req.res`).
 *
 * Anything else (notably Apollo on Fastify's default `{ req }`, which has no
 * reply to set the cookie on) throws an error that names the fix.
 */
export function graphqlPlatformRequest(executionContext: ExecutionContext): GraphQLPlatformRequest {
  const context = executionContext.getArgByIndex<GraphQLContextShape | undefined>(2);
  if (isObject(context)) {
    const { reply } = context;
    if (isFastifyReply(reply)) return { request: reply.request, response: reply };
    const request = context.req ?? context.request;
    if (isRequest(request)) {
      const response = context.res ?? (request as { res?: unknown }).res;
      if (isObject(response)) return { request, response };
    }
  }
  throw new Error(UNSUPPORTED_CONTEXT);
}
