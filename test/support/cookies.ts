/** Helpers to read the session cookie out of responses and send it back. */

/** The parts of a supertest response these helpers read. */
export interface HasHeaders {
  headers: Record<string, string | string[] | undefined>;
}

export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; flags map to `true`. */
  attributes: Record<string, string | true>;
  /** `Max-Age` in seconds, when present. */
  maxAge: number | undefined;
  /** True when this Set-Cookie makes the browser drop the cookie (empty value or Max-Age <= 0). */
  cleared: boolean;
  /** `name=value`, as a Cookie request header carries it. */
  pair: string;
  raw: string;
}

/** Every Set-Cookie header of a response (an empty list when there is none). */
export function setCookies(res: HasHeaders): string[] {
  const header = res.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [header];
}

/** The session cookies a response sets (not the ones it clears): what a correct server never mints for bad input. */
export function liveSessionCookies(res: HasHeaders, name = 'sid'): SetCookie[] {
  return setCookies(res)
    .map(parseSetCookie)
    .filter((c) => c.name === name && !c.cleared);
}

export function parseSetCookie(raw: string): SetCookie {
  const [pairPart, ...attributeParts] = raw.split(';');
  const eq = pairPart.indexOf('=');
  const name = pairPart.slice(0, eq).trim();
  const value = pairPart.slice(eq + 1).trim();
  const attributes: Record<string, string | true> = {};
  for (const part of attributeParts) {
    const i = part.indexOf('=');
    if (i === -1) attributes[part.trim().toLowerCase()] = true;
    else attributes[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1).trim();
  }
  const maxAge =
    typeof attributes['max-age'] === 'string' ? Number(attributes['max-age']) : undefined;
  const expires =
    typeof attributes.expires === 'string' ? Date.parse(attributes.expires) : undefined;
  const cleared =
    value === '' ||
    (maxAge !== undefined && maxAge <= 0) ||
    (expires !== undefined && expires <= Date.now());
  return { name, value, attributes, maxAge, cleared, pair: `${name}=${value}`, raw };
}

/** The session cookie a response sets (the last one named `name`), or `undefined`. */
export function sessionCookie(res: HasHeaders, name = 'sid'): SetCookie | undefined {
  const all = setCookies(res)
    .map(parseSetCookie)
    .filter((c) => c.name === name);
  return all.at(-1);
}

/** The `sid=value` pair a response sets (a live cookie); throws when it sets none. */
export function cookiePair(res: HasHeaders, name = 'sid'): string {
  const cookie = sessionCookie(res, name);
  if (!cookie || cookie.cleared) {
    throw new Error(
      `expected a live ${name} cookie, got Set-Cookie: ${JSON.stringify(setCookies(res))}`,
    );
  }
  return cookie.pair;
}

/** True when the response sets a live (non-clearing) session cookie. */
export function mintsCookie(res: HasHeaders, name = 'sid'): boolean {
  return setCookies(res)
    .map(parseSetCookie)
    .some((c) => c.name === name && !c.cleared);
}

/** The session ID inside a `sid=id.signature` pair (or a bare `id.signature` value). */
export function idOf(pairOrValue: string): string {
  const value = pairOrValue.includes('=')
    ? pairOrValue.slice(pairOrValue.indexOf('=') + 1)
    : pairOrValue;
  return value.split('.')[0];
}
