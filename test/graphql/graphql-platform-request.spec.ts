import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { graphqlPlatformRequest } from '../../lib/graphql/graphql-platform-request.js';

/** A resolver's execution context: (root, args, context, info), type 'graphql'. */
const resolverContext = (context: unknown) =>
  ({
    getType: () => 'graphql',
    getArgByIndex: (index: number) => [undefined, {}, context, {}][index],
  }) as unknown as ExecutionContext;

const request = () => ({ headers: {} });

describe('graphqlPlatformRequest: the HTTP request and response in a GraphQL context', () => {
  it('{ reply }: a Fastify reply and its request (Mercurius; Apollo on Fastify as configured)', () => {
    const req = request();
    const reply = { request: req, raw: {} };
    expect(graphqlPlatformRequest(resolverContext({ req, reply }))).toEqual({
      request: req,
      response: reply,
    });
    expect(graphqlPlatformRequest(resolverContext({ reply })).request).toBe(req);
  });

  it('{ req, res } and { request, res }', () => {
    const req = request();
    const res = {};
    expect(graphqlPlatformRequest(resolverContext({ req, res }))).toEqual({
      request: req,
      response: res,
    });
    expect(graphqlPlatformRequest(resolverContext({ request: req, res })).response).toBe(res);
  });

  it('{ req } with an Express request: its response is req.res (Apollo on Express by default)', () => {
    const res = {};
    const req = { ...request(), res };
    expect(graphqlPlatformRequest(resolverContext({ req })).response).toBe(res);
  });

  it.each([
    ['a request without a response (Apollo on Fastify by default)', { req: request() }],
    ['no context', undefined],
    ['a context of the app’s own without the request', { user: 'alice' }],
    ['a reply-like object that is not a Fastify reply', { reply: { statusCode: 200 } }],
  ])('%s: an error naming the context to pass', (_name, context) => {
    expect(() => graphqlPlatformRequest(resolverContext(context))).toThrow(
      'context: (request, reply) => ({ req: request, reply })',
    );
  });
});
