import { IsOriginList } from './option-validators.js';

/** `CsrfGuard` settings (`csrf` of `SessionModuleOptions`). */
export interface SessionCsrfOptions {
  /**
   * Origins (`https://app.example.com`) besides the app's own that may send
   * unsafe requests. Default `[]`: the app's own origin only.
   */
  allowedOrigins?: string[];
}

/** The `csrf` group with its defaults on the fields (documented on {@link SessionCsrfOptions}). */
export class CsrfOptionsSchema implements SessionCsrfOptions {
  @IsOriginList({
    message: "csrf.allowedOrigins must be a list of origins like 'https://app.example.com'",
  })
  allowedOrigins: string[] = [];
}
