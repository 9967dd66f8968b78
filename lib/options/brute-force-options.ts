import type { Duration } from '../utils/duration.js';
import { IsDuration, IsNonNegativeInteger, IsPositiveInteger } from './option-validators.js';

/** Guessing-defence settings (`bruteForce` of `SessionModuleOptions`). */
export interface SessionBruteForceOptions {
  /** Unverifiable session cookies a client may send within `window` before it gets 429. Default `100`. */
  maxFailures?: number;
  /** The window failures are counted in. Default `'5m'`. */
  window?: Duration;
  /** Proxies in front of the app that append to X-Forwarded-For (0: use the TCP peer). Default `0`. */
  trustProxy?: number;
}

/** The `bruteForce` group with its defaults on the fields (documented on {@link SessionBruteForceOptions}). */
export class BruteForceOptionsSchema implements SessionBruteForceOptions {
  @IsPositiveInteger({ message: 'bruteForce.maxFailures must be a positive integer' })
  maxFailures: number = 100;

  @IsDuration({ message: "bruteForce.window must be a positive duration such as '5m'" })
  window: Duration = '5m';

  @IsNonNegativeInteger({
    message: 'bruteForce.trustProxy must be the number of trusted proxies (0 or more)',
  })
  trustProxy: number = 0;
}
