/** The units a duration string may end with. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

/**
 * A duration: milliseconds as a number, or a string such as `'500ms'`,
 * `'30s'`, `'30m'`, `'8h'`, `'7d'` (a number and a unit, so `'30 minutes'`
 * does not compile). Validated at startup all the same (a negative or zero
 * one, or a string from a config file, is named in the options error).
 */
export type Duration = number | `${number}${DurationUnit}`;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/**
 * Converts a {@link Duration} to whole milliseconds, or `undefined` when the
 * value is not a finite, positive duration (callers turn that into an error
 * message that names the option).
 */
export function parseDuration(value: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    if (match) ms = Number(match[1]) * UNIT_MS[match[2]];
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.round(ms);
}
