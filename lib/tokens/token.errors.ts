/**
 * Why a token was refused; the guard and the refresh route answer it as the
 * 401 `reason`: `token_invalid` (malformed, bad signature, unknown refresh
 * token), `token_expired`, `token_revoked` (its family was revoked, or is
 * gone from the store), `refresh_reused` (a rotated refresh token came back:
 * the family is revoked now).
 */
export type TokenFailureReason =
  'token_invalid' | 'token_expired' | 'token_revoked' | 'refresh_reused';

/**
 * Thrown by `TokenService.verifyAccessToken()`. `reason` is all a caller
 * should act on; `detail` says why, for logs (never send it to the client).
 */
export class TokenVerificationError extends Error {
  constructor(
    readonly reason: TokenFailureReason,
    readonly detail: string,
  ) {
    super(`Token refused (${reason}): ${detail}`);
    this.name = 'TokenVerificationError';
  }
}

/** TokenService used without a `tokens:` group in the module options. */
export class TokensNotConfiguredError extends Error {
  constructor() {
    super(
      'TokenService needs the tokens option. Potential solutions: configure tokens: ' +
        '{ secret (or keys), issuer, audience } in SessionModule.forRoot() / forRootAsync().',
    );
    this.name = 'TokensNotConfiguredError';
  }
}
