/**
 * The Lua scripts behind a channel's presence. Every key of one channel shares the
 * channel's hash tag (`<prefix>:{c:<channel>}:presence:…`), so each script touches
 * one Redis Cluster slot:
 *
 * - KEYS[1] `…:index`   sorted set, every score 0: session IDs in lexical order, so a
 *   page is ZRANGEBYLEX after the cursor (O(log N + page)) and the count is ZCARD (O(1));
 * - KEYS[2] `…:members` hash: session ID → the member's JSON, as clients get it;
 * - KEYS[3] `…:owners`  hash: session ID → the gateway process that holds the session;
 * - KEYS[4] `…:leases`  sorted set: session ID → when its lease ends (ms). Leases are
 *   refreshed with the session leases; those that run out (a process that crashed) are
 *   swept, a bounded number per call, by whichever script runs next on the channel.
 *   A member whose lease ran out has left, swept yet or not: counts and pages leave it
 *   out, and a join of it is a new join (so a crash of more members than one sweep
 *   takes never shows them present past their lease).
 *
 * Changes are announced on the pub/sub channel ARGV[4] in the same script, so the
 * announcement says exactly what changed: one line per member, `+<sessionId> <json>`
 * (joined) or `-<sessionId> <json>` (left), after a first line `#<count>`. A member
 * that was already present (a resumed session joining again) is not announced.
 * Every key expires with the latest lease, so a channel whose processes all crashed
 * leaves nothing behind.
 */

/** ARGV[1] now, ARGV[4] topic, ARGV[5] sweep limit; defines remove() and finish(). */
const COMMON = `local now = tonumber(ARGV[1])
  local changes = {}
  local function remove(sid)
    local member = redis.call('HGET', KEYS[2], sid)
    redis.call('ZREM', KEYS[1], sid)
    redis.call('HDEL', KEYS[2], sid)
    redis.call('HDEL', KEYS[3], sid)
    redis.call('ZREM', KEYS[4], sid)
    if member then changes[#changes + 1] = '-' .. sid .. ' ' .. member end
  end
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))) do
    remove(sid)
  end
  -- Past its lease a member has left, though the bounded sweep has not reached it yet.
  local function lapsed(sid)
    local lease = redis.call('ZSCORE', KEYS[4], sid)
    return lease ~= false and lease ~= nil and tonumber(lease) <= now
  end
  local function finish()
    local count = redis.call('ZCARD', KEYS[1]) - redis.call('ZCOUNT', KEYS[4], '-inf', now)
    if count < 0 then count = 0 end
    if #changes > 0 then
      redis.call('PUBLISH', ARGV[4], '#' .. count .. '\\n' .. table.concat(changes, '\\n'))
    end
    local latest = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
    if latest[2] then
      for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], latest[2]) end
    else
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    end
    return count
  end`;

export const PRESENCE_SCRIPTS = {
  /**
   * Apply one batch of changes, in order. ARGV: now, lease end, node, topic, sweep limit,
   * then triples (op, sessionId, json): `j` join (json kept from the first join: `since`
   * stays), `l` leave (an unsubscribe by the session's own connection), `e` the session
   * ended on `node` (removed only if `node` still holds it: a session resumed on another
   * process is that process's now). Returns the member count.
   */
  tetherPresenceApply: `${COMMON}
  local leaseEnd, node = ARGV[2], ARGV[3]
  for i = 6, #ARGV, 3 do
    local op, sid = ARGV[i], ARGV[i + 1]
    if op == 'j' then
      if lapsed(sid) then remove(sid) end
      if redis.call('HSETNX', KEYS[2], sid, ARGV[i + 2]) == 1 then
        redis.call('ZADD', KEYS[1], 0, sid)
        changes[#changes + 1] = '+' .. sid .. ' ' .. ARGV[i + 2]
      end
      redis.call('HSET', KEYS[3], sid, node)
      redis.call('ZADD', KEYS[4], leaseEnd, sid)
    elseif op == 'l' or redis.call('HGET', KEYS[3], sid) == node then
      remove(sid)
    end
  end
  return finish()`,

  /**
   * Extend the leases `node` holds. ARGV: now, lease end, node, topic, sweep limit,
   * sessionIds. Returns two lists: members missing (lost with Redis data, or swept after a
   * stall: the caller joins them again) and members another process holds now (the
   * caller stops refreshing them).
   */
  tetherPresenceRefresh: `${COMMON}
  local missing, moved = {}, {}
  for i = 6, #ARGV do
    if lapsed(ARGV[i]) then remove(ARGV[i]) end
    local owner = redis.call('HGET', KEYS[3], ARGV[i])
    if owner == ARGV[3] then
      redis.call('ZADD', KEYS[4], ARGV[2], ARGV[i])
    elseif owner then
      moved[#moved + 1] = ARGV[i]
    else
      missing[#missing + 1] = ARGV[i]
    end
  end
  finish()
  return { missing, moved }`,

  /**
   * One page. ARGV: now, start (`-`, or `(<cursor>`), limit, topic, sweep limit, scan limit.
   * Returns { count, sessionIds, member JSONs, cursor }: at most `limit` members, passing
   * over those whose lease ran out unswept (at most `limit` + `scan limit` session IDs
   * looked at: the page may then hold fewer); `cursor` where the next page starts when
   * more may follow, else false.
   */
  tetherPresencePage: `${COMMON}
  local count = finish()
  local limit = tonumber(ARGV[3])
  local ids, start, looked, budget = {}, ARGV[2], 0, limit + tonumber(ARGV[6])
  local function reply(cursor)
    if #ids == 0 then return { count, {}, {}, cursor } end
    return { count, ids, redis.call('HMGET', KEYS[2], unpack(ids)), cursor }
  end
  if limit == 0 then return reply(false) end
  while true do
    local want = math.min(limit + 1 - #ids, budget - looked)
    -- looked at as many as a page may: the next page goes on after the last one
    if want <= 0 then return reply(string.sub(start, 2)) end
    local batch = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, want)
    for _, sid in ipairs(batch) do
      looked = looked + 1
      if not lapsed(sid) then
        -- one more member follows the page: the cursor is the last one listed
        if #ids == limit then return reply(ids[#ids]) end
        ids[#ids + 1] = sid
      end
      start = '(' .. sid
    end
    if #batch < want then return reply(false) end
  end`,
} as const;

export type PresenceScriptName = keyof typeof PRESENCE_SCRIPTS;
