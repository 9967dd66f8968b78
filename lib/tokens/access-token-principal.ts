/** Who a verified access token speaks for: what `@AccessToken()` gives a handler. */
export interface AccessTokenPrincipal {
  /** The `sub` claim. */
  userId: string;
  /** The `roles` claim (`[]` when absent). Frozen: one verified token's principal is shared by its requests. */
  readonly roles: readonly string[];
  /** The token family handle (`sid` claim): what revocation will act on. */
  family: string;
  /** The `exp` claim. */
  expiresAt: Date;
}

/** Where `AccessTokenGuard` leaves the principal on the request (a symbol: invisible to JSON). */
export const ACCESS_TOKEN_PRINCIPAL = Symbol('nest-session:access-token-principal');

export interface PrincipalHolder {
  [ACCESS_TOKEN_PRINCIPAL]?: AccessTokenPrincipal;
}
