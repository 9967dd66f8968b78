import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { SessionContexts } from '../http/session-contexts.js';
import {
  ACCESS_TOKEN_PRINCIPAL,
  type AccessTokenPrincipal,
  type PrincipalHolder,
} from '../tokens/access-token-principal.js';

/**
 * The verified principal of the request's bearer token (`userId`, `roles`,
 * `family`, `expiresAt`), as `AccessTokenGuard` left it:
 * `@UseGuards(AccessTokenGuard) me(@AccessToken() principal: AccessTokenPrincipal)`.
 * In a resolver it is the principal of the HTTP request the operation came in.
 */
export const AccessToken: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, executionContext: ExecutionContext): AccessTokenPrincipal => {
    const request: PrincipalHolder =
      executionContext.getType<string>() === 'graphql'
        ? (SessionContexts.requestOf(executionContext) as PrincipalHolder)
        : executionContext.getArgByIndex<PrincipalHolder>(0);
    const principal = request[ACCESS_TOKEN_PRINCIPAL];
    if (!principal) {
      throw new Error(
        '@AccessToken() found no verified token. Potential solutions: put ' +
          '@UseGuards(AccessTokenGuard) on the route or its controller.',
      );
    }
    return principal;
  },
);
