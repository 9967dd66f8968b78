import { IsDefined } from 'class-validator';

export class PrefDto {
  /** Any JSON value. */
  @IsDefined()
  value!: unknown;
}
