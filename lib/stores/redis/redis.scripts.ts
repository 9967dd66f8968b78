import { createHash } from 'node:crypto';
import { REFRESH_TOKEN_HISTORY } from '../session-record.js';

/** A Lua script, called by SHA (EVALSHA) with a fallback to EVAL when the server lacks it. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/*
 * Session hash fields: h handle, c createdAt, l lastSeenAt, a authenticatedAt,
 * u userId, r roles (JSON), x revokedAt, i index horizon (epoch ms until which
 * the user's index is known to live; a session's TTL never passes it), m the
 * key a forward leads to, g until when a forward serves loads, and
 * `d:<name>` per top-level data key. Names are one letter because a small
 * hash is a listpack and every field name is stored in every session.
 * A refresh-token family adds tc its current token's digest, tn generation,
 * tp previous digest, tr rotatedAt, ts sealedSuccessor, and `t:<digest>` =
 * '1' per token it ever issued (what tells a rotated token coming back, which
 * is reuse, from a forged one; kept until the family ends).
 *
 * Scripts get an "inline" flag. Inline (standalone Redis) a script also does
 * the index work on `<prefix>user:<userId>` and `<prefix>expiry` itself, so
 * each operation is one atomic round trip; such keys are derived inside the
 * script, which standalone Redis allows. On Cluster (inline off) a script
 * touches only its KEYS[1], and the store runs the index steps as separate
 * calls, in a safe order.
 *
 * The expiry index `<prefix>expiry` is one sorted set: member = session key,
 * score = epoch ms at which the record's TTL ends, in the module's clock (the
 * caller sends it: a TTL is relative, so "now + ttl" on the app is the moment
 * Redis drops the key, whatever the server's clock says). Every write that
 * sets a live record's TTL adds it; every write that ends a record (delete,
 * tombstone, a rotation's forward) removes it. It serves claimExpired (the
 * `expired` events of sessions no request comes back for) and the active
 * session gauge (ZCOUNT), so neither needs a SCAN.
 *
 * Lua helpers, in definition order (a helper only uses those above it). A
 * script carries just the helpers it calls, so its source (what a NOSCRIPT
 * fallback sends) is what it runs. Defining unused closures costs little
 * (about 0.1 µs per call, measured here on an idle Redis); the split is for
 * clarity, and it lets PUT without a per-user cap leave out enforce_max.
 */
const HELPERS: Record<string, string> = {
  now_ms: `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`,
  is_type: `
local function is_type(k, t)
  return redis.call('TYPE', k).ok == t
end
`,
  valid_roles: `
local function valid_roles(json)
  local ok, roles = pcall(cjson.decode, json)
  if not ok or type(roles) ~= 'table' then return false end
  local n = 0
  for i, role in pairs(roles) do
    if type(i) ~= 'number' or type(role) ~= 'string' then return false end
    n = n + 1
  end
  -- an empty JSON object decodes to an empty table too
  return n > 0 or json:match('^%s*%[') ~= nil
end
`,
  valid_refresh: `
-- A family's fields tc, tn, tp, tr, ts as decodeRecord accepts them: none
-- at all (a cookie session), or a current token with a numeric generation.
local function valid_refresh(tc, tn, tp, tr, ts)
  if not tc then return not (tn or tp or tr or ts) end
  return tonumber(tn) ~= nil and (not tr or tonumber(tr) ~= nil)
end
`,
  live_user: `
-- User id ('' when anonymous) of a live session, or nil for anything else:
-- missing, foreign type, missing required fields, a tombstone or a forward.
-- (The same checks as decodeRecord in session-hash.ts, so that what reads as
-- no session can be neither updated nor revoked.)
local function live_user(k)
  if not is_type(k, 'hash') then return nil end
  local f = redis.call('HMGET', k, 'h', 'c', 'l', 'x', 'u', 'a', 'r', 'm', 'tc', 'tn', 'tp', 'tr', 'ts')
  if not f[1] or f[1] == '' or not tonumber(f[2]) or not tonumber(f[3]) or f[4] or f[8] then return nil end
  if f[6] and not tonumber(f[6]) then return nil end
  if f[7] and not valid_roles(f[7]) then return nil end
  if not valid_refresh(f[9], f[10], f[11], f[12], f[13]) then return nil end
  return f[5] or ''
end
`,
  stored_user: `
local function stored_user(k)
  if not is_type(k, 'hash') then return false end
  return redis.call('HGET', k, 'u')
end
`,
  hset_range: `
-- HSET of ARGV[from..to] in chunks, so that unpack stays within Lua's stack.
-- An extra field/value pair (optional) rides in the first HSET, so the usual
-- write is one call.
local function hset_range(k, from, to, field, value)
  local i = from
  if field then
    local j = math.min(i + 199, to)
    redis.call('HSET', k, field, value, unpack(ARGV, i, j))
    i = j + 1
  end
  while i <= to do
    local j = math.min(i + 199, to)
    redis.call('HSET', k, unpack(ARGV, i, j))
    i = j + 1
  end
end
`,
  index_add: `
-- Scores are the time of indexing, so pruning can spare entries that were
-- just added for a session whose write is still on its way (Cluster), and
-- the lowest score is the session logged in or rotated longest ago.
local function index_add(idx, member, keep_ms, nx)
  local t = redis.call('TYPE', idx).ok
  if t ~= 'zset' and t ~= 'none' then redis.call('DEL', idx) end
  local now = now_ms()
  if nx then
    redis.call('ZADD', idx, 'NX', now, member)
  else
    redis.call('ZADD', idx, now, member)
  end
  if redis.call('PTTL', idx) < keep_ms then redis.call('PEXPIRE', idx, keep_ms) end
  return now + keep_ms
end
`,
  index_rem: `
local function index_rem(prefix, user, member)
  if user and user ~= '' then
    local idx = prefix .. 'user:' .. user
    if is_type(idx, 'zset') then redis.call('ZREM', idx, member) end
  end
end
`,
  expiry_add: `
-- pcall: a foreign value under the expiry index must not fail the session's
-- own write (PUT replaces it, see expiry_trim).
local function expiry_add(prefix, member, at)
  redis.pcall('ZADD', prefix .. 'expiry', at, member)
end
`,
  expiry_rem: `
local function expiry_rem(prefix, member)
  redis.pcall('ZREM', prefix .. 'expiry', member)
end
`,
  expiry_trim: `
-- Drops a few entries whose TTL ended over EXPIRY_STALE_MS ago. Their records
-- are gone (a claim would only drop them), but while no app instance calls
-- claimExpired nothing else removes them: run once per new session (the only
-- thing that grows the index), it keeps the index bounded by the sessions of
-- the last EXPIRY_STALE_MS. While claims run it finds nothing. A foreign value
-- under the key is replaced, as index_add does, so the index heals.
local function expiry_trim(idx)
  local t = redis.call('TYPE', idx).ok
  if t ~= 'zset' then
    if t ~= 'none' then redis.call('DEL', idx) end
    return
  end
  local stale = redis.call('ZRANGEBYSCORE', idx, '-inf', now_ms() - EXPIRY_STALE_MS, 'LIMIT', 0, EXPIRY_TRIM)
  if #stale > 0 then redis.call('ZREM', idx, unpack(stale)) end
end
`,
  tombstone: `
-- Replaces a session by a tombstone. ttl nil: keep the session's own expiry.
-- Answers the session's { handle, createdAt, lastSeenAt, current refresh
-- token (a family's; false for a cookie session) }.
local function tombstone(k, revoked_at, ttl)
  local f = redis.call('HMGET', k, 'h', 'c', 'l', 'tc')
  if not ttl then
    ttl = redis.call('PTTL', k)
    if ttl <= 0 then ttl = 60000 end
  end
  redis.call('DEL', k)
  redis.call('HSET', k, 'h', f[1], 'c', f[2], 'l', f[3], 'x', revoked_at)
  redis.call('PEXPIRE', k, ttl)
  return f
end
`,
  family_fields: `
-- A family's record fields, as HGETALL would answer them without the
-- issued-token marks (t:<digest>, n:<generation>): one HMGET of a fixed
-- list (a family has no data fields), so a redemption costs the same
-- whatever the family's history.
local FAMILY_FIELDS = { 'h', 'c', 'l', 'a', 'u', 'r', 'x', 'm', 'g', 'i', 'tc', 'tn', 'tp', 'tr', 'ts' }
local function family_fields(k)
  local values = redis.call('HMGET', k, unpack(FAMILY_FIELDS))
  local out = {}
  for i, name in ipairs(FAMILY_FIELDS) do
    if values[i] then
      out[#out + 1] = name
      out[#out + 1] = values[i]
    end
  end
  return out
end
`,
  enforce_max: `
-- Revokes the oldest live sessions of a user beyond max (current excluded),
-- pruning dead entries on the way. Nothing to do (the usual case) costs one
-- ZCARD. Only the oldest (excess + ENFORCE_SLACK) entries are read, so a
-- user at the cap pays a few reads per log-in, not one per session: dead
-- entries among them are pruned first, then the oldest live ones are
-- revoked while the index is still over the cap. (A dead entry beyond that
-- window still counts, so a live session may go one log-in early; the
-- window makes that rare, and later log-ins and listings prune the rest.)
local function enforce_max(prefix, idx, user, current, max)
  local capped = {}
  local excess = redis.call('ZCARD', idx) - max
  if excess <= 0 then return capped end
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', idx, 0, math.min(excess + ENFORCE_SLACK, ENFORCE_SCAN) - 1)) do
    if m ~= current then
      if live_user(prefix .. m) == user then
        live[#live + 1] = m
      else
        redis.call('ZREM', idx, m)
        excess = excess - 1
      end
    end
  end
  local revoked_at = now_ms()
  for j = 1, math.min(excess, #live) do
    local f = tombstone(prefix .. live[j], revoked_at, nil)
    capped[#capped + 1] = f[1]
    capped[#capped + 1] = f[2]
    capped[#capped + 1] = f[4] and 'token' or 'cookie'
    redis.call('ZREM', idx, live[j])
    expiry_rem(prefix, live[j])
  end
  return capped
end
`,
  move_old: `
-- The conditional half of a rotation: the old session, if it is still the
-- live session with handle expect, becomes a forward to new_member (kept
-- forward_ms; 0: deleted). Answers 1 and the old user; 2 and where the key
-- already leads when another rotation won; 0 when it is gone (missing,
-- revoked, expired, or not this session).
local function move_old(k, expect, forward_ms, readable_until, new_member)
  local f = redis.pcall('HMGET', k, 'h', 'c', 'l', 'x', 'u', 'a', 'r', 'm', 'tc', 'tn', 'tp', 'tr', 'ts')
  if type(f) ~= 'table' or f[1] ~= expect then return 0, '' end
  if f[8] then return 2, f[8] end
  if f[4] or not tonumber(f[2]) or not tonumber(f[3]) then return 0, '' end
  if (f[6] and not tonumber(f[6])) or (f[7] and not valid_roles(f[7])) then return 0, '' end
  if not valid_refresh(f[9], f[10], f[11], f[12], f[13]) then return 0, '' end
  redis.call('DEL', k)
  if forward_ms > 0 then
    if readable_until ~= '' then
      redis.call('HSET', k, 'h', f[1], 'c', f[2], 'l', f[3], 'm', new_member, 'g', readable_until)
    else
      redis.call('HSET', k, 'h', f[1], 'c', f[2], 'l', f[3], 'm', new_member)
    end
    redis.call('PEXPIRE', k, forward_ms)
  end
  return 1, f[5] or ''
end
`,
};

/** The helpers a Lua body calls, directly or through other helpers, in definition order. */
function helpersFor(body: string): string {
  const names = Object.keys(HELPERS);
  const needed = new Set<string>();
  let text = body;
  for (let grew = true; grew;) {
    grew = false;
    for (const name of names) {
      if (!needed.has(name) && new RegExp(`\\b${name}\\(`).test(text)) {
        needed.add(name);
        text += HELPERS[name];
        grew = true;
      }
    }
  }
  return names
    .filter((name) => needed.has(name))
    .map((name) => HELPERS[name])
    .join('\n');
}

/** Index entries read per script call by LIST, REVOKE_ALL and the cap check. */
export const INDEX_BATCH = 200;
const ENFORCE_SCAN = 1_000;
/** Entries read beyond the excess when enforcing the cap (see enforce_max). */
export const ENFORCE_SLACK = 16;
/** Expiry index entries this long past their TTL's end are stale (see expiry_trim). */
const EXPIRY_STALE_MS = 3_600_000;
/** Stale expiry index entries dropped per new session (more than the one it adds). */
const EXPIRY_TRIM = 4;

function script(name: string, body: string): LuaScript {
  const constants =
    `local INDEX_BATCH = ${INDEX_BATCH}\nlocal ENFORCE_SCAN = ${ENFORCE_SCAN}\n` +
    `local ENFORCE_SLACK = ${ENFORCE_SLACK}\nlocal EXPIRY_STALE_MS = ${EXPIRY_STALE_MS}\n` +
    `local EXPIRY_TRIM = ${EXPIRY_TRIM}\nlocal REFRESH_TOKEN_HISTORY = ${REFRESH_TOKEN_HISTORY}\n`;
  const source = `${constants}${helpersFor(body)}\n${body}`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** The body of PUT; `capped` adds the per-user limit (standalone only). */
function putBody(capped: boolean): string {
  return `
local inline = ARGV[1] == '1'
local prefix, member, old_member = ARGV[2], ARGV[3], ARGV[4]
local ttl, keep, user = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local horizon, at = tonumber(ARGV[9]), ARGV[10]
local old_user = false
if KEYS[2] then
  old_user = stored_user(KEYS[2])
  redis.call('DEL', KEYS[2])
  if inline then
    index_rem(prefix, old_user, old_member)
    expiry_rem(prefix, old_member)
  end
end
local idx = prefix .. 'user:' .. user
if inline and user ~= '' then horizon = index_add(idx, member, keep, false) end
local prev = stored_user(KEYS[1])
redis.call('DEL', KEYS[1])
if user ~= '' and horizon then
  hset_range(KEYS[1], 11, #ARGV, 'i', horizon)
else
  hset_range(KEYS[1], 11, #ARGV)
end
redis.call('PEXPIRE', KEYS[1], ttl)
if inline then
  expiry_trim(prefix .. 'expiry')
  if at ~= '' then expiry_add(prefix, member, at) else expiry_rem(prefix, member) end
end
if inline and prev and prev ~= user then index_rem(prefix, prev, member) end
local capped = {}
${capped ? "if inline and user ~= '' then capped = enforce_max(prefix, idx, user, member, tonumber(ARGV[8])) end" : ''}
return { prev or '', old_user or '', unpack(capped) }
`;
}

/**
 * Writes a whole session (set, and a log-in's unconditional rotate).
 * KEYS: session, [old session]. ARGV: inline, prefix, member, old member, ttl,
 * keep (index TTL), user ('' = not indexed), max (0 = no limit), horizon ('' =
 * compute), expires at (the expiry index score; '' = not a live record, out
 * of the index), field/value pairs... Answers { previous user of the key,
 * user of the old key, then (PUT_CAPPED, standalone) a handle, createdAt
 * and kind ('cookie' or 'token') for each session the cap revoked }, for the caller's index cleanup on
 * Cluster and the module's `destroyed` (`limit`) events.
 */
export const PUT = script('put', putBody(false));

/**
 * PUT with `maxSessionsPerUser` (ARGV max > 0) enforced in the same script:
 * a separate script so that PUT without a limit carries none of its helpers.
 */
export const PUT_CAPPED = script('put_capped', putBody(true));

/**
 * Applies a patch to a live session and refreshes its TTL; never creates one.
 * KEYS: session. ARGV: inline, prefix, member, ttl, keep, expires at (the
 * expiry index score), lastSeenAt ('' = unchanged), n, n values of
 * field/value pairs, fields to delete...
 * Answers 0 (no live session), 1 (done), { 2, user } on Cluster when the
 * user's index must be extended first (the TTL was capped at the horizon),
 * or { 3, member } on a forward (nothing written; the patch goes there).
 */
export const UPDATE = script(
  'update',
  `
local k = KEYS[1]
-- The hot path of every write and touch, so it is kept lean: one HMGET (a
-- foreign type makes pcall answer an error, read as "no session") with the
-- same checks as live_user, one HSET for lastSeenAt and the changed fields
-- together, one PEXPIRE, and inline one ZADD of the expiry index (no type
-- check: pcall, as in expiry_add). A forward is never written (it must die
-- on time): the caller is told where it leads.
local f = redis.pcall('HMGET', k, 'h', 'c', 'l', 'x', 'u', 'i', 'a', 'r', 'm', 'tc', 'tn', 'tp', 'tr', 'ts')
if type(f) ~= 'table' or not f[1] or f[1] == '' or f[4] then return 0 end
if f[9] then return { 3, f[9] } end
if not tonumber(f[2]) or not tonumber(f[3]) or (f[7] and not tonumber(f[7])) then return 0 end
if f[8] and not valid_roles(f[8]) then return 0 end
if not valid_refresh(f[10], f[11], f[12], f[13], f[14]) then return 0 end
local n = tonumber(ARGV[8])
if ARGV[7] ~= '' then
  hset_range(k, 9, 8 + n, 'l', ARGV[7])
else
  hset_range(k, 9, 8 + n)
end
local i = 9 + n
while i <= #ARGV do
  local j = math.min(i + 199, #ARGV)
  redis.call('HDEL', k, unpack(ARGV, i, j))
  i = j + 1
end
local ttl, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
local user = f[5]
if user and user ~= '' then
  local horizon = tonumber(f[6]) or 0
  local now = now_ms()
  if now + ttl > horizon then
    if ARGV[1] == '1' then
      redis.call('HSET', k, 'i', index_add(ARGV[2] .. 'user:' .. user, ARGV[3], keep, true))
    else
      if horizon > now then redis.call('PEXPIRE', k, horizon - now) end
      return { 2, user }
    end
  end
end
redis.call('PEXPIRE', k, ttl)
if ARGV[1] == '1' then redis.pcall('ZADD', ARGV[2] .. 'expiry', ARGV[6], ARGV[3]) end
return 1
`,
);

/** Cluster, after the index was extended: KEYS: session. ARGV: user, ttl, horizon. */
export const EXTEND = script(
  'extend',
  `
if live_user(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'i', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/**
 * KEYS: session. ARGV: inline, prefix, member. Answers { the user it had,
 * where it led if it was a forward } ('' for none).
 */
export const DESTROY = script(
  'destroy',
  `
local user, moved = false, false
if is_type(KEYS[1], 'hash') then
  local f = redis.call('HMGET', KEYS[1], 'u', 'm')
  user, moved = f[1], f[2]
end
redis.call('DEL', KEYS[1])
if ARGV[1] == '1' then
  index_rem(ARGV[2], user, ARGV[3])
  expiry_rem(ARGV[2], ARGV[3])
end
return { user or '', moved or '' }
`,
);

/**
 * Standalone rotation, one atomic step: move_old on the old key, then the
 * new session is written and indexed. KEYS: new session, old session. ARGV:
 * inline, prefix, member, old member, ttl, keep, user ('' = not indexed),
 * expected handle, forward ms, readable until ('' = never), expires at (as
 * PUT's), field/value pairs... Answers { 1, '' } rotated, { 2, member }
 * moved, { 0, '' } gone.
 */
export const ROTATE = script(
  'rotate',
  `
local status, info = move_old(KEYS[2], ARGV[8], tonumber(ARGV[9]), ARGV[10], ARGV[3])
if status ~= 1 then return { status, info } end
local prefix, member, user = ARGV[2], ARGV[3], ARGV[7]
index_rem(prefix, info, ARGV[4])
-- a forward is no session to report expired
expiry_rem(prefix, ARGV[4])
redis.call('DEL', KEYS[1])
if user ~= '' then
  hset_range(KEYS[1], 12, #ARGV, 'i', index_add(prefix .. 'user:' .. user, member, tonumber(ARGV[6]), false))
else
  hset_range(KEYS[1], 12, #ARGV)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[11] ~= '' then expiry_add(prefix, member, ARGV[11]) else expiry_rem(prefix, member) end
return { 1, '' }
`,
);

/**
 * Cluster: the conditional half of a rotation, on the old key alone (the new
 * session is already written; the caller deletes it unless this answers 1).
 * KEYS: old session. ARGV: expected handle, forward ms, readable until, new
 * member. Answers { 1, old user }, { 2, member } or { 0, '' } as ROTATE.
 */
export const MOVE = script(
  'move',
  `
local status, info = move_old(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4])
return { status, info }
`,
);

/**
 * KEYS: session. ARGV: inline, prefix, member, revokedAt, ttl ('' = keep the
 * session's expiry), only this user ('' = any). Answers { 1, user },
 * { 0, '' }, or { 2, member } on a forward (the caller revokes that one).
 */
export const REVOKE = script(
  'revoke',
  `
if is_type(KEYS[1], 'hash') then
  local moved = redis.call('HGET', KEYS[1], 'm')
  if moved then return { 2, moved } end
end
local user = live_user(KEYS[1])
if not user or (ARGV[6] ~= '' and user ~= ARGV[6]) then return { 0, '' } end
tombstone(KEYS[1], ARGV[4], tonumber(ARGV[5]))
if ARGV[1] == '1' then
  index_rem(ARGV[2], user, ARGV[3])
  expiry_rem(ARGV[2], ARGV[3])
end
return { 1, user }
`,
);

/**
 * Standalone: one batch (INDEX_BATCH entries from rank ARGV[3]) of the live
 * sessions of a user, pruning the dead entries of that batch. Batches keep
 * every call short however many sessions a user has: Redis serves other
 * clients between them. KEYS: index. ARGV: prefix, user, start rank.
 * Answers { next start rank (-1: done), member, HGETALL reply, ... }.
 */
export const LIST = script(
  'list',
  `
if not is_type(KEYS[1], 'zset') then return { -1 } end
local start = tonumber(ARGV[3])
local members = redis.call('ZRANGE', KEYS[1], start, start + INDEX_BATCH - 1)
local out = { -1 }
local removed = 0
for _, m in ipairs(members) do
  local k = ARGV[1] .. m
  if live_user(k) == ARGV[2] then
    out[#out + 1] = m
    out[#out + 1] = redis.call('HGETALL', k)
  else
    redis.call('ZREM', KEYS[1], m)
    removed = removed + 1
  end
end
if #members == INDEX_BATCH then out[1] = start + INDEX_BATCH - removed end
return out
`,
);

/**
 * Standalone: revokes one batch of a user's live sessions but one (every
 * entry handled leaves the index, so the next batch starts at the top again).
 * KEYS: index. ARGV: prefix, user, revokedAt, ttl, except member ('' = none).
 * Answers { revoked, 1 if more may follow }.
 */
export const REVOKE_ALL = script(
  'revoke_all',
  `
if not is_type(KEYS[1], 'zset') then return { 0, 0 } end
local members = redis.call('ZRANGE', KEYS[1], 0, INDEX_BATCH - 1)
local n = 0
for _, m in ipairs(members) do
  if m ~= ARGV[5] then
    local k = ARGV[1] .. m
    if live_user(k) == ARGV[2] then
      tombstone(k, ARGV[3], tonumber(ARGV[4]))
      expiry_rem(ARGV[1], m)
      n = n + 1
    end
    redis.call('ZREM', KEYS[1], m)
  end
end
return { n, #members == INDEX_BATCH and 1 or 0 }
`,
);

/**
 * Cluster: adds a member to a user index. KEYS: index. ARGV: member, keep,
 * nx ('1' keeps an existing score). Answers { horizon, number of members }.
 */
export const INDEX_ADD = script(
  'index_add',
  `
local horizon = index_add(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1')
return { horizon, redis.call('ZCARD', KEYS[1]) }
`,
);

/**
 * Cluster: removes index members found dead, unless indexed within the last
 * `grace` ms (their session write may still be on its way).
 * KEYS: index. ARGV: grace, members...
 */
export const PRUNE = script(
  'prune',
  `
if not is_type(KEYS[1], 'zset') then return 0 end
local before = now_ms() - tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV do
  local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]))
  if score and score < before then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
`,
);

/**
 * Redeems a refresh token of the family under KEYS[1], check and write in
 * one script on that key alone, so two redemptions of one token can never
 * both rotate, on standalone and Cluster alike. The checks are
 * MemoryStore.redeemRefreshToken's, in its order. ARGV: inline, prefix,
 * member, presented, successor, sealed successor ('' = none), now, idle ms,
 * absolute ms, grace ms, tombstone ttl, keep (index TTL), retain ms (added
 * to a rotation's TTL). Inline, a rotation sets the family's expiry index
 * score to now + its TTL (`now`: the module's clock, as the index wants).
 * Answers { 0 } unknown, { 1, fields } rotated, { 2, fields, sealed
 * successor } replayed, { 3, fields before, user } reused (the family is a
 * tombstone; on Cluster the caller unindexes it), { 4 } revoked, { 5 }
 * expired, or on Cluster { 6, fields, user, ttl }: rotated, but the TTL was
 * capped at the index horizon, so the caller extends the index, then EXTEND.
 */
export const REDEEM = script(
  'redeem',
  `
local k = KEYS[1]
local inline, prefix, member = ARGV[1] == '1', ARGV[2], ARGV[3]
local presented, successor, sealed = ARGV[4], ARGV[5], ARGV[6]
local now, idle, absolute = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local f = redis.pcall('HMGET', k, 'h', 'c', 'l', 'x', 'u', 'i', 'a', 'r', 'm', 'tc', 'tn', 'tp', 'tr', 'ts')
-- What decodeRecord reads as no record is no family; then a forward, and a tombstone.
if type(f) ~= 'table' or not f[1] or f[1] == '' or not tonumber(f[2]) or not tonumber(f[3]) then return { 0 } end
if (f[4] and not tonumber(f[4])) or (f[7] and not tonumber(f[7])) then return { 0 } end
if (f[8] and not valid_roles(f[8])) or not valid_refresh(f[10], f[11], f[12], f[13], f[14]) then return { 0 } end
if f[9] then return { 0 } end
if f[4] then return { 4 } end
if not f[10] or redis.call('HEXISTS', k, 't:' .. presented) == 0 then return { 0 } end
local created = tonumber(f[2])
if math.min(created + absolute, tonumber(f[3]) + idle) <= now then return { 5 } end
local user = f[5]
if presented == f[10] then
  local generation = tonumber(f[11]) + 1
  redis.call('HSET', k, 'tc', successor, 'tn', generation, 'tp', presented, 'tr', ARGV[7], 'l', ARGV[7], 't:' .. successor, generation, 'n:' .. generation, successor)
  -- Forget the token REFRESH_TOKEN_HISTORY generations back: the history stays bounded.
  local forgotten = generation - REFRESH_TOKEN_HISTORY
  if forgotten >= 1 then
    local digest = redis.call('HGET', k, 'n:' .. forgotten)
    if digest then redis.call('HDEL', k, 't:' .. digest, 'n:' .. forgotten) end
  end
  if sealed ~= '' then redis.call('HSET', k, 'ts', sealed) else redis.call('HDEL', k, 'ts') end
  local ttl = math.max(1, math.ceil(math.min(created + absolute, now + idle) - now)) + tonumber(ARGV[13])
  -- As UPDATE: the family's TTL never passes its index's horizon.
  if user and user ~= '' then
    local horizon = tonumber(f[6]) or 0
    local server_now = now_ms()
    if server_now + ttl > horizon then
      if inline then
        redis.call('HSET', k, 'i', index_add(prefix .. 'user:' .. user, member, tonumber(ARGV[12]), true))
      else
        if horizon > server_now then redis.call('PEXPIRE', k, horizon - server_now) end
        return { 6, family_fields(k), user, ttl }
      end
    end
  end
  redis.call('PEXPIRE', k, ttl)
  if inline then expiry_add(prefix, member, now + ttl) end
  return { 1, family_fields(k) }
end
local grace = tonumber(ARGV[10])
if presented == f[12] and grace > 0 and f[14] and f[13] and now - tonumber(f[13]) <= grace then
  return { 2, family_fields(k), f[14] }
end
-- Issued by this family and rotated away: the token was copied. End the family.
local before = family_fields(k)
tombstone(k, ARGV[7], tonumber(ARGV[11]))
if inline then
  index_rem(prefix, user, member)
  expiry_rem(prefix, member)
end
return { 3, before, user or '' }
`,
);

/**
 * Standalone: claims one batch of the expiry index (claimExpired): up to
 * ARGV[4] members scored at or before ARGV[2], each removed (claimed once,
 * whichever app instance runs this first) and answered with its record when
 * it is live and due. The record is re-checked, not trusted to the score: a
 * dead one (gone, a tombstone, a forward) is only dropped; a live one whose
 * TTL now ends after `before` (a write the index did not see: a Cluster index
 * step lost, an older writer) goes back in at its real end (ARGV[3], now in
 * the module's clock, + PTTL), so it is never reported while it lives. A
 * family is read without its issued-token marks (family_fields).
 * KEYS: expiry index. ARGV: prefix, before, now, count (at most INDEX_BATCH).
 * Answers { members read, member, fields, ... }: fewer read than count means
 * nothing more is due.
 */
export const CLAIM = script(
  'claim',
  `
if not is_type(KEYS[1], 'zset') then return { 0 } end
local before, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = { #members }
for _, m in ipairs(members) do
  redis.call('ZREM', KEYS[1], m)
  local k = ARGV[1] .. m
  if live_user(k) then
    local ends = now + redis.call('PTTL', k)
    if ends > before then
      redis.call('ZADD', KEYS[1], ends, m)
    else
      out[#out + 1] = m
      if redis.call('HEXISTS', k, 'tc') == 1 then
        out[#out + 1] = family_fields(k)
      else
        out[#out + 1] = redis.call('HGETALL', k)
      end
    end
  end
end
return out
`,
);

/**
 * Cluster: the claiming half of claimExpired, on the index alone (the
 * records live on other slots; the caller reads and re-checks them as CLAIM
 * does). KEYS: expiry index. ARGV: before, count. Answers the members it
 * removed, each claimed by this call only.
 */
export const CLAIM_INDEX = script(
  'claim_index',
  `
if not is_type(KEYS[1], 'zset') then return {} end
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return members
`,
);

/**
 * Cluster: a new session's expiry index step (update's is a plain ZADD):
 * adds it and trims stale entries, as PUT does inline. KEYS: expiry index.
 * ARGV: member, expires at.
 */
export const EXPIRY_ADD = script(
  'expiry_add',
  `
expiry_trim(KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`,
);

/**
 * Fixed-window counter. KEYS: counter. ARGV: window ms. Answers the new count;
 * a foreign value under the key restarts the count.
 */
export const COUNT = script(
  'count',
  `
local ok, n = pcall(redis.call, 'INCR', KEYS[1])
if not ok then
  redis.call('DEL', KEYS[1])
  n = redis.call('INCR', KEYS[1])
end
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`,
);
