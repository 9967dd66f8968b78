import { ValidateBy, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { parseDuration } from '../utils/duration.js';

/** Shortest secret accepted, in characters (the error message suggests a 43-character random one). */
export const MIN_SECRET_LENGTH = 32;

/** The `(got …)` part of a message: strings quoted, so `'2000'` and `2000` read differently. */
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A {@link Duration}: a positive number of milliseconds or a string such as `'30m'`. */
export function IsDuration(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isDuration',
      validator: {
        validate: (value: unknown) => parseDuration(value) !== undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be a positive number of milliseconds or a string like '30m', '8h' (got ${JSON.stringify(args?.value)})`,
      },
    },
    options,
  );
}

/** An integer ≥ 1 (`NaN`, `Infinity`, `1.5` and `'2000'` are not). */
export function IsPositiveInteger(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isPositiveInteger',
      validator: {
        validate: (value: unknown) => Number.isInteger(value) && (value as number) > 0,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be a positive integer (got ${shown(args?.value)})`,
      },
    },
    options,
  );
}

/** An integer ≥ 0; one check, so a value that is neither gets one message, not two. */
export function IsNonNegativeInteger(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isNonNegativeInteger',
      validator: {
        validate: (value: unknown) => Number.isInteger(value) && (value as number) >= 0,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be an integer, 0 or more (got ${shown(args?.value)})`,
      },
    },
    options,
  );
}

/** A secret of at least {@link MIN_SECRET_LENGTH} characters, or a non-empty list of them. */
export function IsSecret() {
  return ValidateBy({
    name: 'isSecret',
    validator: {
      validate: (value: unknown) => {
        const list = Array.isArray(value) ? value : [value];
        return (
          list.length > 0 &&
          list.every((s) => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH)
        );
      },
      defaultMessage: (args?: ValidationArguments) =>
        args?.value === undefined || args?.value === ''
          ? 'secret is required (a string of at least 32 characters, or a list of them)'
          : `secret must be at least ${MIN_SECRET_LENGTH} characters (every entry of the list)`,
    },
  });
}

/** An object with every method of `SessionStore`, or nothing (the module then makes a MemoryStore). */
export function IsSessionStore() {
  return ValidateBy({
    name: 'isSessionStore',
    validator: {
      validate: (value: unknown) =>
        value === undefined ||
        (typeof value === 'object' &&
          value !== null &&
          ['get', 'set', 'update', 'rotate', 'destroy', 'revoke', 'listForUser'].every(
            (m) => typeof (value as Record<string, unknown>)[m] === 'function',
          )),
      defaultMessage: () =>
        'store must implement SessionStore (get, set, update, rotate, destroy, revoke, listForUser)',
    },
  });
}

/** A list of origins (`scheme://host[:port]`, no path): what an `Origin` header carries. */
export function IsOriginList(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isOriginList',
      validator: {
        validate: (value: unknown) =>
          Array.isArray(value) &&
          value.every((o) => typeof o === 'string' && /^https?:\/\/[^/\s]+$/.test(o)),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be a list of origins like 'https://app.example.com'`,
      },
    },
    options,
  );
}

/** `metrics`: a boolean, or `{ registry }` with a prom-client Registry (duck-typed: prom-client is optional). */
export function IsMetricsOption() {
  const problem = (value: unknown): string | undefined => {
    if (typeof value === 'boolean') return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return 'metrics must be true, false or { registry } (a prom-client Registry)';
    }
    const { registry, ...rest } = value as { registry?: unknown };
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      return `metrics: unknown option ${unknown.map((k) => `'${k}'`).join(', ')} (known: registry)`;
    }
    const isRegistry =
      typeof registry === 'object' &&
      registry !== null &&
      typeof (registry as { registerMetric?: unknown }).registerMetric === 'function' &&
      typeof (registry as { metrics?: unknown }).metrics === 'function';
    return registry === undefined || isRegistry
      ? undefined
      : 'metrics.registry must be a prom-client Registry';
  };
  return ValidateBy({
    name: 'isMetricsOption',
    validator: {
      validate: (value: unknown) => problem(value) === undefined,
      defaultMessage: (args?: ValidationArguments) => problem(args?.value) ?? 'metrics is invalid',
    },
  });
}
