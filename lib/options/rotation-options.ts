import { ValidateIf } from 'class-validator';
import type { Duration } from '../utils/duration.js';
import { IsDuration } from './option-validators.js';

/** Periodic renewal settings (`rotation` of `SessionModuleOptions`). */
export interface SessionRotationOptions {
  /** A live session gets a new ID once this has passed since its last rotation. Required. */
  every: Duration;
  /**
   * How long the old ID still resolves to the new session. Default `'10s'`;
   * shorter than `every`; `0`: none (the old ID dies at once, so requests
   * already in flight with it are refused).
   */
  grace?: Duration;
}

/**
 * The `rotation` group with its defaults on the fields (documented on
 * {@link SessionRotationOptions}); `grace < every` is in `crossFieldProblems`.
 */
export class RotationOptionsSchema implements SessionRotationOptions {
  @IsDuration({ message: "rotation.every must be a positive duration such as '15m'" })
  every!: Duration;

  @ValidateIf((rotation: RotationOptionsSchema) => rotation.grace !== 0)
  @IsDuration({ message: "rotation.grace must be 0 or a positive duration such as '10s'" })
  grace: Duration = '10s';
}
