/** Why a token was refused; the guard answers it as the 401 `reason`. */
export type TokenFailureReason = 'token_invalid' | 'token_expired';

/**
 * Thrown by `TokenService.verifyAccessToken()`. `reason` is all a caller
 * should act on; `detail` says why, for logs (never send it to the client).
 */
export class TokenVerificationError extends Error {
  constructor(
    readonly reason: TokenFailureReason,
    readonly detail: string,
  ) {
    super(`Access token refused (${reason}): ${detail}`);
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
