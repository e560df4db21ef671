/**
 * The Lua scripts of the subscriber count (channel-occupancy.ts). Per channel, on
 * its slot: KEYS[1] a hash, gateway process → its subscribers of the channel;
 * KEYS[2] a sorted set, process → the time its lease on that count ends. A process
 * renews its leases every SESSION_LEASE_MS; one that crashed stops, and its count
 * lapses — dropped by the next script that touches the channel, or by the sweep.
 *
 * Time is Redis's own (TIME), so processes with skewed clocks agree on leases, and a
 * transition (first subscriber in, last one out) is decided by the one script that
 * makes it: it is reported once, by the process that ran it.
 */

const COMMON = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function total()
  local sum = 0
  for _, n in ipairs(redis.call('HVALS', KEYS[1])) do sum = sum + tonumber(n) end
  return sum
end
local function lapse(now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  if #gone > 0 then
    redis.call('HDEL', KEYS[1], unpack(gone))
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  end
end
local function hold(node, now, ttl)
  redis.call('ZADD', KEYS[2], now + ttl, node)
  redis.call('PEXPIRE', KEYS[1], 2 * ttl)
  redis.call('PEXPIRE', KEYS[2], 2 * ttl)
end
local function latest()
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  return last[2] or '0'
end`;

/**
 * One more subscriber here. ARGV: process, lease ms, cap (0: none), '1' to count past
 * the cap. Returns [admitted 1|0, subscribers now, 1 when lapsed leases had just
 * vacated the channel, Redis ms, latest lease end].
 */
export const ENTER_SCRIPT = `${COMMON}
local now = nowMs()
local before = total()
lapse(now)
local count = total()
local lapsed = (before > 0 and count == 0) and 1 or 0
local cap = tonumber(ARGV[3])
if cap > 0 and count >= cap and ARGV[4] ~= '1' then return {0, count, lapsed, now, latest()} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
hold(ARGV[1], now, tonumber(ARGV[2]))
return {1, count + 1, lapsed, now, latest()}`;

/** One subscriber here fewer. ARGV: process, lease ms. Returns [subscribers now, 1 when this vacated the channel, Redis ms]. */
export const LEAVE_SCRIPT = `${COMMON}
local now = nowMs()
local before = total()
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  hold(ARGV[1], now, tonumber(ARGV[2]))
end
lapse(now)
local count = total()
return {count, (before > 0 and count == 0) and 1 or 0, now}`;

/**
 * Renew this process's lease, and set its count when ARGV[3] is not '' (the process's
 * own tally is the truth: this heals a count a lost reply left wrong, or one that
 * lapsed while the process was paused). ARGV: process, lease ms, count or ''. Returns
 * [subscribers now, 1 when this occupied the channel, 1 when it vacated it, Redis ms,
 * latest lease end].
 */
export const REFRESH_SCRIPT = `${COMMON}
local now = nowMs()
local before = total()
if ARGV[3] ~= '' then
  if tonumber(ARGV[3]) > 0 then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  else
    redis.call('HDEL', KEYS[1], ARGV[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then hold(ARGV[1], now, tonumber(ARGV[2])) end
lapse(now)
local count = total()
return {count, (before == 0 and count > 0) and 1 or 0, (before > 0 and count == 0) and 1 or 0, now, latest()}`;

/** Drop lapsed leases. Returns [subscribers now, 1 when this vacated the channel, Redis ms, latest lease end]. */
export const SWEEP_SCRIPT = `${COMMON}
local now = nowMs()
local before = total()
lapse(now)
local count = total()
return {count, (before > 0 and count == 0) and 1 or 0, now, latest()}`;

/**
 * The index of occupied channels (KEYS[1], channel → when its latest lease ends), for
 * channels whose every holder stopped renewing: take up to ARGV[1] that are due and
 * hold them for ARGV[2] ms, so two sweeping processes do not take the same ones.
 * Returns [channel, score it was held at, …].
 */
export const TAKE_DUE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[1])
local held = {}
for _, channel in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + ARGV[2], channel)
  held[#held + 1] = channel
  held[#held + 1] = tostring(now + ARGV[2])
end
return held`;

/** Remove ARGV[1] from the index if it still has the score it was taken at (ARGV[2]): nobody occupied it since. */
export const DROP_TAKEN_SCRIPT = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`;
