import { describe, expect, it } from '@jest/globals';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    [1500, 1500],
    ['500ms', 500],
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['8h', 28_800_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
    [' 2 s ', 2000],
  ])('reads %p as %p ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each([0, -1, NaN, Infinity, '', '30', '30x', 'm', '-5m', null, undefined, {}, '1e3s'])(
    'rejects %p',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );
});
