/**
 * `{ ...defaults, ...given }` (as nestjs-cls merges `new ClsModuleOptions()`
 * with the user's), except that an `undefined` or `null` value keeps the
 * default, as `??` would: `{ touchAfter: config.touchAfter }` with nothing
 * configured means the default, not "no value". Writes into `defaults`.
 */
export function withDefaults<T extends object>(defaults: T, given: object): T {
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined && value !== null) (defaults as Record<string, unknown>)[key] = value;
  }
  return defaults;
}

/**
 * A nested option group as its schema instance with the defaults filled in;
 * nothing given is all defaults. A value that is not an object is handed back
 * as it is, so that the group's `@ValidateNested()` rejects it by name.
 */
export function optionGroup<T extends object>(given: unknown, create: () => T): T {
  if (given === undefined || given === null) return create();
  return typeof given === 'object' ? withDefaults(create(), given) : (given as T);
}
