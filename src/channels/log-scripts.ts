/**
 * The Lua scripts of the event log (event-log.ts), each on one key: the channel's
 * stream. A log's epoch is the name of an empty consumer group on its stream,
 * `tether.epoch.<epoch>`: it lives inside the stream key, so it is lost, evicted,
 * expired or restored together with the history it names — a stream created anew
 * always gets a new epoch, and a client holding the old one learns its history is gone.
 */

/** Where a log's epoch is kept: the consumer group named with this prefix. */
export const EPOCH_GROUP = 'tether.epoch.';

/** Lua: the epoch group's name on KEYS[1], or false. */
const FIND_EPOCH = `
local function findEpoch(key)
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    if string.sub(group[2], 1, ${EPOCH_GROUP.length}) == '${EPOCH_GROUP}' then
      return string.sub(group[2], ${EPOCH_GROUP.length + 1})
    end
  end
  return false
end`;

/**
 * Append and announce one event. KEYS[1] stream; ARGV: retention, data JSON, ts,
 * correlation ID, traceparent or '', TTL ms or '0', the epoch to give a stream this
 * append creates ('' for none: session inboxes). The message is `[id, ts,
 * correlationId, traceparent]` as JSON, a newline, then the data JSON (a correlation
 * ID may hold any character; cjson escapes it, so the first newline ends the header).
 */
export const APPEND_SCRIPT = `
local fresh = ARGV[7] ~= '' and redis.call('EXISTS', KEYS[1]) == 0
local fields = {'d', ARGV[2], 't', ARGV[3], 'c', ARGV[4]}
if ARGV[5] ~= '' then
  fields[7] = 'p'
  fields[8] = ARGV[5]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
if fresh then redis.call('XGROUP', 'CREATE', KEYS[1], '${EPOCH_GROUP}' .. ARGV[7], '0') end
if ARGV[6] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
redis.call('PUBLISH', KEYS[1], cjson.encode({id, ARGV[3], ARGV[4], ARGV[5]}) .. '\\n' .. ARGV[2])
return id`;

/**
 * The log's head: { epoch, XINFO STREAM }. KEYS[1] stream; ARGV[1] the epoch to give
 * a log that has none ('' to leave it without: a missing stream is then reported
 * as such, false and false). A log with no epoch gets one here, its stream created
 * empty if need be, so every position handed to a client carries the epoch it
 * belongs to.
 */
export const HEAD_SCRIPT = `${FIND_EPOCH}
local exists = redis.call('EXISTS', KEYS[1]) == 1
if not exists and ARGV[1] == '' then return {false, false} end
local epoch = exists and findEpoch(KEYS[1])
if not epoch and ARGV[1] ~= '' then
  redis.call('XGROUP', 'CREATE', KEYS[1], '${EPOCH_GROUP}' .. ARGV[1], '0', 'MKSTREAM')
  epoch = ARGV[1]
end
return {epoch, redis.call('XINFO', 'STREAM', KEYS[1])}`;

/**
 * Give the log a new epoch if it still has ARGV[1] (its history was found broken:
 * IDs went backwards); returns the epoch it has now. ARGV[2] the new epoch.
 */
export const RENEW_EPOCH_SCRIPT = `${FIND_EPOCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local epoch = findEpoch(KEYS[1])
if epoch == ARGV[1] then
  redis.call('XGROUP', 'DESTROY', KEYS[1], '${EPOCH_GROUP}' .. ARGV[1])
  redis.call('XGROUP', 'CREATE', KEYS[1], '${EPOCH_GROUP}' .. ARGV[2], '0')
  return ARGV[2]
end
return epoch`;
