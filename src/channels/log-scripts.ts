/**
 * The Lua scripts of the event log (event-log.ts), each on one key: the channel's
 * stream. A log's epoch is the name of an empty consumer group on its stream,
 * `tether.epoch.<epoch>`: it lives inside the stream key, so it is lost, evicted,
 * expired or restored together with the history it names — a stream created anew
 * always gets a new epoch, and a client holding the old one learns its history is gone.
 */

/** Where a log's epoch is kept: the consumer group named with this prefix. */
export const EPOCH_GROUP = 'tether.epoch.';
/** READ_RANGE's first chunk, in entries: 8 of the largest events are 512 KiB. */
const READ_CHUNK = 8;
/**
 * The name of the consumer an epoch renewed for lost history holds (FIND_EPOCH
 * `replaceEpoch`): `began:<ms>`, Redis's clock when it was given. An event acked before
 * then was lost in the hole it was given for; one acked since, in a later one.
 */
const BEGAN = 'began:';

/**
 * Lua: a log's epoch (the epoch group's name on `key`, or false) and where it began (the
 * group's last-delivered-id), and the one change of it every script makes: the group of
 * `old` (false: none) replaced by one for `new`, beginning at `from`. A log's first epoch
 * begins at '0'; one renewed for lost history begins at '$', the log's newest ID then: the
 * hole is after it, so a position up to it, given without its epoch, may be before the
 * hole (log-positions.ts `positionGap`).
 */
const FIND_EPOCH = `
local function findEpoch(key)
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    if string.sub(group[2], 1, ${EPOCH_GROUP.length}) == '${EPOCH_GROUP}' then
      local start = '0-0'
      for i = 1, #group, 2 do
        if group[i] == 'last-delivered-id' then start = group[i + 1] end
      end
      return string.sub(group[2], ${EPOCH_GROUP.length + 1}), start
    end
  end
  return false, '0-0'
end
local function replaceEpoch(key, old, new, from)
  if old then redis.call('XGROUP', 'DESTROY', key, '${EPOCH_GROUP}' .. old) end
  redis.call('XGROUP', 'CREATE', key, '${EPOCH_GROUP}' .. new, from)
  if from == '$' then
    local now = redis.call('TIME')
    local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
    redis.call('XGROUP', 'CREATECONSUMER', key, '${EPOCH_GROUP}' .. new, '${BEGAN}' .. ms)
  end
end
local function epochBegan(key, epoch)
  for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', key, '${EPOCH_GROUP}' .. epoch)) do
    for i = 1, #consumer, 2 do
      if consumer[i] == 'name' and string.sub(consumer[i + 1], 1, ${BEGAN.length}) == '${BEGAN}' then
        return string.sub(consumer[i + 1], ${BEGAN.length + 1})
      end
    end
  end
  return false
end
local function idBefore(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end`;

/**
 * Lua: the fields of XINFO STREAM that stream-info.ts reads, as [name, value, …] — not the
 * whole reply, whose first and last entries (up to 64 KiB of data each) every head, plan
 * and page would otherwise carry back to the gateway for nothing — and one field of it.
 */
const STREAM_HEAD = `
local HEAD_FIELDS = {['length'] = true, ['last-generated-id'] = true, ['max-deleted-entry-id'] = true,
  ['entries-added'] = true, ['recorded-first-entry-id'] = true}
local function streamHead(key)
  local info, head = redis.call('XINFO', 'STREAM', key), {}
  for i = 1, #info, 2 do
    if HEAD_FIELDS[info[i]] then
      head[#head + 1] = info[i]
      head[#head + 1] = info[i + 1]
    end
  end
  return head
end
local function headField(head, name)
  for i = 1, #head, 2 do
    if head[i] == name then return head[i + 1] end
  end
  return nil
end`;

/**
 * Lua: at most `count` entries of `key` from `from` to `to` (XRANGE, or XREVRANGE with its
 * bounds in that order), stopping once their fields pass `budget` bytes (the first entry
 * is always kept); returns them and whether the range may hold more. Read in chunks that
 * start at READ_CHUNK entries and double, so Redis never copies much past the budget: one
 * XRANGE COUNT 1000 of 64 KiB events is 64 MiB built in Redis, and a few of those
 * stall it for every other client.
 */
const READ_RANGE = `
local function readRange(key, command, from, to, count, budget)
  local page, used, chunk = {}, 0, ${READ_CHUNK}
  while #page < count do
    local want = math.min(chunk, count - #page)
    local batch = redis.call(command, key, from, to, 'COUNT', want)
    for _, entry in ipairs(batch) do
      local size = 0
      for _, value in ipairs(entry[2]) do size = size + #value end
      if #page > 0 and used + size > budget then return page, true end
      used = used + size
      page[#page + 1] = entry
    end
    if #batch < want then return page, false end
    from = '(' .. page[#page][1]
    chunk = chunk * 2
  end
  return page, true
end`;

/**
 * Events after a position, with the stream's XINFO read in the same script, so no trim
 * falls between the two: { its head (STREAM_HEAD) or false (no stream), entries, 1 when the range
 * may hold more }. KEYS[1] stream; ARGV: the range's two bounds, COUNT, byte budget.
 */
export const PAGE_SCRIPT = `${STREAM_HEAD}${READ_RANGE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {false, {}, 0} end
local info = streamHead(KEYS[1])
local page, more = readRange(KEYS[1], 'XRANGE', ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
return {info, page, more and 1 or 0}`;

/**
 * Lua: tell the log's readers it now has epoch `epoch` from ID `newest` on. A read that
 * creates a removed log (HEAD_SCRIPT, HISTORY_SCRIPT) and a renewal (RENEW_EPOCH_SCRIPT)
 * give it a new epoch without an append, so without this a process already reading the
 * channel would go on under the old one and its subscribers would never hear that the
 * history they hold is gone. Announced where appends are (SPUBLISH with ARGV 'sharded'),
 * as JSON `{"epoch":…,"newest":…}`: an object, never an event's array header
 * (event-log.ts `epochNoticeOf`).
 */
const ANNOUNCE_EPOCH = `
local function announceEpoch(key, epoch, pubsub)
  local newest = headField(streamHead(key), 'last-generated-id') or '0-0'
  redis.call(pubsub == 'sharded' and 'SPUBLISH' or 'PUBLISH', key, cjson.encode({epoch = epoch, newest = newest}))
end`;

/**
 * Lua: a log that never held an event (last-generated-id 0-0: made by a read, for its
 * epoch) expires ARGV[ttl] ms after its last read, so reads of names no one publishes
 * to do not fill Redis. ttl '0' keeps it. The first append makes it permanent again.
 * `info` is the log's STREAM_HEAD.
 */
const EXPIRE_UNUSED = `
local function expireUnused(key, info, ttl)
  if ttl ~= '0' and headField(info, 'last-generated-id') == '0-0' then redis.call('PEXPIRE', key, ttl) end
end`;

/**
 * Append and announce one event. KEYS[1] stream; KEYS[2] the publish's idempotency
 * key (KEYS[1] again when it has none: same slot either way). ARGV: retention (events),
 * data JSON, ts, correlation ID, traceparent or '', TTL ms or '0', the epoch to give a
 * stream this append creates ('' for none: session inboxes), maximum age ms or '0',
 * idempotency window ms or '0', 'sharded' to announce with SPUBLISH (on the stream's
 * own slot: a cluster sends it to that shard only, not to every node) else PUBLISH.
 * A channel log read before its first event expires if unused (EXPIRE_UNUSED): the
 * first append makes it permanent (PERSIST) unless it has a TTL of its own.
 *
 * ARGV[11], optional: the newest event the appending process acked on this log. When the
 * log lacks it though it holds an event before it (retention takes the oldest first, so
 * this is not retention), history was lost under the process — a failover to a replica
 * that missed the last writes, with this append going to the new master — and the log
 * gets a new epoch (ARGV[7]) here, before the event joins it: later appends must not
 * carry the process's record of its acks past the hole before anything looks. The new
 * epoch begins at the log's newest ID (FIND_EPOCH), and is given once per hole: an append
 * that finds the hole behind where the epoch began, for an event acked before the epoch was
 * given (one in flight beside the first, or a reader renewed first), leaves it; one acked
 * since was lost in a later hole, which gets an epoch of its own.
 *
 * Returns [ID, 1 when it repeated a key (the first ID, nothing appended) else 0, 1 when it
 * gave the log a new epoch for lost history else 0]. The message is `[id, ts, correlationId, traceparent]` —
 * and, when this append created the stream or renewed its epoch, the new epoch fifth — as
 * JSON, a newline, then the data JSON (a correlation ID may hold any character; cjson
 * escapes it, so the first newline ends the header).
 *
 * The key check and the append are one script, so two gateways given the same key at
 * once append once: the second finds the first's ID. Age trimming needs MINID (Redis
 * 6.2), and XADD takes one trimming strategy, so it is an XTRIM of its own. An age
 * reaching before 1970 has nothing to trim, and Redis refuses a negative MINID: an
 * error after the XADD would leave the event stored, unannounced and reported failed,
 * so its retry would store it twice.
 */
export const APPEND_SCRIPT = `${FIND_EPOCH}
local remember = ARGV[9] ~= '0'
if remember then
  local first = redis.call('GET', KEYS[2])
  if first then return {first, 1, 0} end
end
-- PTTL: -2 no stream (this append creates it), -1 kept for good, else expiring (unused).
local ttl = ARGV[7] ~= '' and redis.call('PTTL', KEYS[1]) or -1
local fresh = ttl == -2
local acked = ARGV[11] or ''
local renewed = false
if not fresh and acked ~= '' and ARGV[7] ~= '' then
  local before = redis.call('XREVRANGE', KEYS[1], acked, '-', 'COUNT', 1)
  if before[1] and before[1][1] ~= acked then
    -- An epoch that began at or after the last event held before the hole, after the acked
    -- event was generated, was given for this hole already (another append in flight with
    -- the same acked position, or a reader, found it first). An event acked since the epoch
    -- began was lost in a later hole — a second failover losing all the epoch held, right
    -- where it began — and that one gets its epoch too (without a record of when: renewed).
    local epoch, start = findEpoch(KEYS[1])
    local began = epoch and epochBegan(KEYS[1], epoch)
    local ackedMs = string.match(acked, '^(%d+)-')
    if not epoch or idBefore(start, before[1][1]) or not began or not ackedMs
      or not idBefore(ackedMs .. '-0', began .. '-0') then
      replaceEpoch(KEYS[1], epoch, ARGV[7], '$')
      renewed = true
    end
  end
end
local fields = {'d', ARGV[2], 't', ARGV[3], 'c', ARGV[4]}
if ARGV[5] ~= '' then
  fields[7] = 'p'
  fields[8] = ARGV[5]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
local oldest = tonumber(ARGV[3]) - tonumber(ARGV[8])
if ARGV[8] ~= '0' and oldest > 0 then redis.call('XTRIM', KEYS[1], 'MINID', '~', oldest) end
if fresh then replaceEpoch(KEYS[1], false, ARGV[7], '0') end
if ARGV[6] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[6])
elseif ttl >= 0 then redis.call('PERSIST', KEYS[1]) end
if remember then redis.call('SET', KEYS[2], id, 'PX', ARGV[9]) end
redis.call(ARGV[10] == 'sharded' and 'SPUBLISH' or 'PUBLISH', KEYS[1], cjson.encode({id, ARGV[3], ARGV[4], ARGV[5], (fresh or renewed) and ARGV[7] or nil}) .. '\\n' .. ARGV[2])
return {id, 0, renewed and 1 or 0}`;

/**
 * The log's head: { epoch, its head (STREAM_HEAD), held, where the epoch began (FIND_EPOCH) }.
 * KEYS[1] stream; ARGV[1] the epoch to give
 * a log that has none ('' to leave it without: a missing stream is then reported
 * as such, false and false); ARGV[2] how long an unused log is kept, ms (EXPIRE_UNUSED);
 * ARGV[3] an event ID to look for ('' for none): held is 1 when the stream has that
 * entry, else 0 (log-positions.ts `positionMissing` says what its absence means);
 * ARGV[4] 'sharded' or 'classic' (ANNOUNCE_EPOCH).
 * A log with no epoch gets one here, its stream created empty if need be, so every
 * position handed to a client carries the epoch it belongs to; its readers are told.
 */
export const HEAD_SCRIPT = `${FIND_EPOCH}${STREAM_HEAD}${EXPIRE_UNUSED}${ANNOUNCE_EPOCH}
local exists = redis.call('EXISTS', KEYS[1]) == 1
if not exists and ARGV[1] == '' then return {false, false, 0, '0-0'} end
local epoch, start = false, '0-0'
if exists then epoch, start = findEpoch(KEYS[1]) end
if not epoch and ARGV[1] ~= '' then
  redis.call('XGROUP', 'CREATE', KEYS[1], '${EPOCH_GROUP}' .. ARGV[1], '0', 'MKSTREAM')
  epoch = ARGV[1]
  announceEpoch(KEYS[1], epoch, ARGV[4])
end
local info = streamHead(KEYS[1])
if ARGV[1] ~= '' then expireUnused(KEYS[1], info, ARGV[2]) end
local held = 0
if ARGV[3] ~= '' and #redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3], 'COUNT', 1) > 0 then held = 1 end
return {epoch, info, held, start}`;

/**
 * Give the log a new epoch if it still has ARGV[1] (its history was found broken:
 * IDs went backwards); returns the epoch it has now. ARGV[2] the new epoch; ARGV[3]
 * 'sharded' or 'classic': its readers are told (ANNOUNCE_EPOCH).
 */
export const RENEW_EPOCH_SCRIPT = `${FIND_EPOCH}${STREAM_HEAD}${ANNOUNCE_EPOCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local epoch = findEpoch(KEYS[1])
if epoch == ARGV[1] then
  replaceEpoch(KEYS[1], epoch, ARGV[2], '$')
  announceEpoch(KEYS[1], ARGV[2], ARGV[3])
  return ARGV[2]
end
return epoch`;

/**
 * A page of the log with its head: { epoch, head (STREAM_HEAD), entries, held, where the
 * epoch began (FIND_EPOCH) }, held as HEAD_SCRIPT's for ARGV[9] (an event ID, '' for none). KEYS[1] stream;
 * ARGV: the epoch to give a log that has none (as HEAD_SCRIPT: '' leaves it without,
 * and a missing stream is then false, false, {}), 'rev' for newest
 * first, the range's two bounds in XRANGE/XREVRANGE order, COUNT, a byte budget
 * (READ_RANGE: a page of large events is cut in Redis rather than built, sent and
 * dropped), how long an unused
 * log is kept, ms (EXPIRE_UNUSED), and 'sharded' or 'classic' (ANNOUNCE_EPOCH).
 */
export const HISTORY_SCRIPT = `${FIND_EPOCH}${STREAM_HEAD}${EXPIRE_UNUSED}${ANNOUNCE_EPOCH}${READ_RANGE}
local exists = redis.call('EXISTS', KEYS[1]) == 1
if not exists and ARGV[1] == '' then return {false, false, {}, 0, '0-0'} end
local epoch, start = false, '0-0'
if exists then epoch, start = findEpoch(KEYS[1]) end
if not epoch and ARGV[1] ~= '' then
  redis.call('XGROUP', 'CREATE', KEYS[1], '${EPOCH_GROUP}' .. ARGV[1], '0', 'MKSTREAM')
  epoch = ARGV[1]
  announceEpoch(KEYS[1], epoch, ARGV[8])
end
local info = streamHead(KEYS[1])
if ARGV[1] ~= '' then expireUnused(KEYS[1], info, ARGV[7]) end
local page = {}
if tonumber(ARGV[5]) > 0 then
  page = readRange(KEYS[1], ARGV[2] == 'rev' and 'XREVRANGE' or 'XRANGE', ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
end
local held = 0
if ARGV[9] ~= '' and #redis.call('XRANGE', KEYS[1], ARGV[9], ARGV[9], 'COUNT', 1) > 0 then held = 1 end
return {epoch, info, page, held, start}`;
