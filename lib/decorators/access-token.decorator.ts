import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import {
  ACCESS_TOKEN_PRINCIPAL,
  type AccessTokenPrincipal,
  type PrincipalHolder,
} from '../tokens/access-token-principal.js';

/**
 * The verified principal of the request's bearer token (`userId`, `roles`,
 * `family`, `expiresAt`), as `AccessTokenGuard` left it:
 * `@UseGuards(AccessTokenGuard) me(@AccessToken() principal: AccessTokenPrincipal)`.
 */
export const AccessToken: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, executionContext: ExecutionContext): AccessTokenPrincipal => {
    const principal = executionContext.getArgByIndex<PrincipalHolder>(0)[ACCESS_TOKEN_PRINCIPAL];
    if (!principal) {
      throw new Error(
        '@AccessToken() found no verified token. Potential solutions: put ' +
          '@UseGuards(AccessTokenGuard) on the route or its controller.',
      );
    }
    return principal;
  },
);
