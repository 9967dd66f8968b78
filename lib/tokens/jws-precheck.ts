/**
 * Checks jose does not make (it verifies signatures and claims; these run
 * before it, on the raw compact form): a size cap, the shape, no header
 * that names its own key, no duplicate member names.
 */

/** Larger tokens are refused unparsed: ours are well under 1 KB, and parsing costs. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** Header parameters that carry or point at a key: a token must never choose its verifier (RFC 8725 §3.10). */
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'];

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Why the token is refused before verification, or `undefined` when jose may look at it. */
export function precheckProblem(token: string): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return `longer than ${MAX_TOKEN_LENGTH} characters`;
  if (!COMPACT_JWS.test(token)) return 'not a compact JWS (three base64url parts)';
  const [headerPart, payloadPart] = token.split('.');
  const header = decodeJson(headerPart);
  const payload = decodeJson(payloadPart);
  if (!header || !isPlainObject(header.value)) return 'header is not a JSON object';
  if (!payload || !isPlainObject(payload.value)) return 'payload is not a JSON object';
  // JSON.parse keeps the last of two equal names; another parser may keep the first.
  if (hasDuplicateNames(header.text)) return 'duplicate header parameter';
  if (hasDuplicateNames(payload.text)) return 'duplicate claim';
  const headerValue = header.value;
  const present = KEY_BEARING_HEADERS.filter((name) => name in headerValue);
  if (present.length > 0) return `header carries key material (${present.join(', ')})`;
  return undefined;
}

function decodeJson(part: string): { text: string; value: unknown } | undefined {
  try {
    const text = Buffer.from(part, 'base64url').toString('utf8');
    return { text, value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether the top-level object of valid JSON `text` names a member twice
 * (after unescaping, so `"\u0061lg"` equals `"alg"`).
 */
function hasDuplicateNames(text: string): boolean {
  const names = new Set<string>();
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectName = true;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectName = true;
    }
  }
  return false;
}
