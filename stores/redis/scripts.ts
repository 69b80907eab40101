/**
 * The Lua scripts of the Redis store. Each runs atomically on the server, so fencing (a compare
 * of `gen` + `owner` + `state=live` before every write) needs no lock and no second round trip.
 * All keys of one stream share its hash tag, so in a future Cluster mode they live in one slot.
 *
 * Layout (see `docs/resume-redis.md`), for a stream id `sid` with tag `{prefix:P}`:
 * - `meta:sid` hash: `gen`, `state`, `owner`, `seq`, `tags`, `reason`, `created`, `updated`;
 * - `log:sid:gen` stream: one entry per appended batch, id `<lastSeq>-0`, fields `f` (its first
 *   seq) and `b` (JSON `[[data, event?], …]`); the terminal entry `<lastSeq>-1` with `t` (state)
 *   and `c` (reason);
 * - `lease:sid` string `<owner>:<gen>`, `PX leaseMs`;
 * - `stop:sid` string `<gen>`, the durable stop request;
 * - `readers:sid` hash: per instance id, `"<count> <expiresAtMs>"`.
 *
 * Every script that reports a stream returns the same meta tuple:
 * `{gen, state, lastSeq, owner, tags, reason, created, updated, firstSeq}`.
 * @module
 */

/** The meta tuple (see the module comment), or nil. ARGV of the caller give `logPrefix`, `maxEvents`. */
const META = `
local function meta(key, logPrefix, maxEvents)
  local m = redis.call('HMGET', key, 'gen', 'state', 'seq', 'owner', 'tags', 'reason', 'created', 'updated')
  if not m[1] then return nil end
  local last = tonumber(m[3])
  local first = last + 1
  local head = redis.call('XRANGE', logPrefix .. m[1], '-', '+', 'COUNT', 1)
  if head[1] then
    local fields = head[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'f' then first = tonumber(fields[i + 1]) end
    end
  end
  local floor = last - tonumber(maxEvents) + 1
  if first < floor then first = floor end
  return {m[1], m[2], m[3], m[4] or '', m[5] or '{}', m[6] or '', m[7] or '0', m[8] or '0', tostring(first)}
end
`;

/**
 * Creates a generation, or reports the running one.
 *
 * KEYS: meta, lease, stop. ARGV: gen, owner, leaseMs, idleMs, ifRunning, now, tags, logPrefix,
 * maxEvents, control channel prefix, stream id, stopTtlMs, afterDoneMs.
 *
 * Returns `{'created', …meta}` (also for a retry of the same create: same gen and owner) or
 * `{'running', …meta}` (lease held, and `ifRunning` is not `replace`). Otherwise the previous generation is dropped: a finished one with its log; a live
 * one whose lease has lapsed gets its terminal entry `lost`/`producer_lost`, and one being
 * replaced `stopped`/`replaced` plus a stop request (durable key + a message to its owner), so
 * its readers end; its log then lives `afterDoneMs` and its appends are fenced from now.
 */
export const CREATE = `${META}
local cur = redis.call('HMGET', KEYS[1], 'gen', 'state', 'owner', 'seq')
if cur[1] == ARGV[1] and cur[3] == ARGV[2] then
  -- A retry of this very create (its reply was lost with a dropped connection).
  local m = meta(KEYS[1], ARGV[8], ARGV[9])
  table.insert(m, 1, 'created')
  return m
end
if cur[1] then
  local old = ARGV[8] .. cur[1]
  if cur[2] == 'live' then
    local holder = redis.call('GET', KEYS[2])
    if holder and ARGV[5] ~= 'replace' then
      local m = meta(KEYS[1], ARGV[8], ARGV[9])
      table.insert(m, 1, 'running')
      return m
    end
    local state, reason = 'lost', 'producer_lost'
    if holder then
      state, reason = 'stopped', 'replaced'
      redis.call('SET', KEYS[3], cur[1], 'PX', ARGV[12])
      redis.call('PUBLISH', ARGV[10] .. cur[3], cjson.encode({sid = ARGV[11], gen = cur[1]}))
    end
    redis.call('XADD', old, cur[4] .. '-1', 't', state, 'c', reason)
    redis.call('PEXPIRE', old, ARGV[13])
  else
    redis.call('DEL', old)
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'state', 'live', 'owner', ARGV[2], 'seq', '0',
  'tags', ARGV[7], 'created', ARGV[6], 'updated', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2] .. ':' .. ARGV[1], 'PX', ARGV[3])
local m = meta(KEYS[1], ARGV[8], ARGV[9])
table.insert(m, 1, 'created')
return m
`;

/**
 * Appends one coalesced batch as one stream entry `<lastSeq>-0`, fenced.
 *
 * KEYS: meta, log. ARGV: gen, owner, firstSeq, lastSeq, batch, maxEvents, idleMs, now.
 *
 * Returns `{'ok'}`; `{'behind', seq}` when the stored `seq` is not `firstSeq - 1` (a retry of a
 * stored append, or a gap: the caller tells which); `{'fenced', state}` when the generation is
 * not this producer's live one (`state` '' when the meta is gone). Retention trims by `MINID`
 * (exact): entry ids are seqs, so this bounds events, not batches.
 */
export const APPEND = `
local cur = redis.call('HMGET', KEYS[1], 'gen', 'owner', 'state', 'seq')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] or cur[3] ~= 'live' then
  if cur[1] ~= ARGV[1] then return {'fenced', ''} end
  return {'fenced', cur[3] or ''}
end
if tonumber(cur[4]) ~= tonumber(ARGV[3]) - 1 then return {'behind', cur[4]} end
local min = tonumber(ARGV[4]) - tonumber(ARGV[6]) + 1
if min > 1 then
  redis.call('XADD', KEYS[2], 'MINID', min .. '-0', ARGV[4] .. '-0', 'f', ARGV[3], 'b', ARGV[5])
else
  redis.call('XADD', KEYS[2], ARGV[4] .. '-0', 'f', ARGV[3], 'b', ARGV[5])
end
redis.call('HSET', KEYS[1], 'seq', ARGV[4], 'updated', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return {'ok'}
`;

/**
 * Ends a live generation with its terminal entry `<lastSeq>-1`, fenced on `gen` + `state=live`
 * (the owner's own generations only: `createResumable` finalizes what it produced).
 *
 * KEYS: meta, log, lease, stop. ARGV: gen, state, reason, afterDoneMs, now.
 *
 * Returns `{'ok', lastSeq}` or `{'fenced'}` (not current, or already ended: nothing changed).
 */
export const FINALIZE = `
local cur = redis.call('HMGET', KEYS[1], 'gen', 'state', 'seq')
if cur[1] ~= ARGV[1] or cur[2] ~= 'live' then return {'fenced'} end
redis.call('XADD', KEYS[2], cur[3] .. '-1', 't', ARGV[2], 'c', ARGV[3])
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'reason', ARGV[3], 'updated', ARGV[5])
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {'ok', cur[3]}
`;

/**
 * Renews a producer's lease (compare-and-set on the meta), reads the durable stop key, and sums
 * the readers every instance has registered (entries past their expiry are dropped).
 *
 * KEYS: meta, lease, stop, readers. ARGV: gen, owner, leaseMs.
 *
 * Returns `{'ok', stop ('1' | '0'), readers}` or `{'fenced'}`.
 */
export const RENEW = `
local cur = redis.call('HMGET', KEYS[1], 'gen', 'owner', 'state')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] or cur[3] ~= 'live' then return {'fenced'} end
redis.call('SET', KEYS[2], ARGV[2] .. ':' .. ARGV[1], 'PX', ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local readers = 0
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  local count, expires = string.match(all[i + 1], '^(%d+) (%d+)$')
  if count and tonumber(expires) > now then
    readers = readers + tonumber(count)
  else
    redis.call('HDEL', KEYS[4], all[i])
  end
end
local stop = '0'
if redis.call('GET', KEYS[3]) == ARGV[1] then stop = '1' end
return {'ok', stop, tostring(readers)}
`;

/**
 * A reader instance's periodic check of the generations it follows, several per call: for each,
 * registers this instance's readers for `leaseMs`, and ends a live generation whose lease has
 * lapsed (`lost`, `producer_lost`: the terminal entry wakes every follower, on every instance).
 *
 * KEYS: per generation, meta, log, lease, readers. ARGV: instance id, leaseMs, afterDoneMs, now,
 * then per generation its gen and this instance's reader count.
 *
 * Returns one status per generation: `'missing'` (no meta: expired, or a Redis without
 * persistence restarted), `'changed'` (another generation now, and this one's log has no
 * terminal entry), `'live'`, `'ended'` (already final) or `'lost'` (this call finalized it).
 */
export const WATCH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local out = {}
for i = 0, #KEYS / 4 - 1 do
  local meta, log, leased, readers = KEYS[i * 4 + 1], KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
  local gen, count = ARGV[5 + i * 2], ARGV[6 + i * 2]
  if tonumber(count) > 0 then
    redis.call('HSET', readers, ARGV[1], count .. ' ' .. tostring(now + lease))
    redis.call('PEXPIRE', readers, lease * 2)
  else
    redis.call('HDEL', readers, ARGV[1])
  end
  local cur = redis.call('HMGET', meta, 'gen', 'state', 'seq')
  local status
  if not cur[1] then
    status = 'missing'
  elseif cur[1] ~= gen then
    status = 'changed'
    local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
    if last[1] and string.sub(last[1][1], -2) == '-1' then status = 'ended' end
  elseif cur[2] ~= 'live' then
    status = 'ended'
  elseif redis.call('EXISTS', leased) == 1 then
    status = 'live'
  else
    redis.call('XADD', log, cur[3] .. '-1', 't', 'lost', 'c', 'producer_lost')
    redis.call('HSET', meta, 'state', 'lost', 'reason', 'producer_lost', 'updated', ARGV[4])
    redis.call('PEXPIRE', meta, ARGV[3])
    redis.call('PEXPIRE', log, ARGV[3])
    status = 'lost'
  end
  out[i + 1] = status
end
return out
`;

/**
 * Requests a stop of the live generation: a durable stop key, and one message on its owner's
 * control channel (one channel per store instance, not per stream); a repeated request changes
 * nothing.
 *
 * KEYS: meta, stop. ARGV: stopTtlMs, control channel prefix, stream id, logPrefix, maxEvents.
 *
 * Returns `{}` for an unknown id, else the meta tuple (nothing changes unless it is live).
 */
export const STOP = `${META}
local m = meta(KEYS[1], ARGV[4], ARGV[5])
if not m then return {} end
if m[2] == 'live' and redis.call('GET', KEYS[2]) ~= m[1] then
  redis.call('SET', KEYS[2], m[1], 'PX', ARGV[1])
  redis.call('PUBLISH', ARGV[2] .. m[4], cjson.encode({sid = ARGV[3], gen = m[1]}))
end
return m
`;

/**
 * Reads what a resume needs in one round trip: the meta, and the first page of the log after a
 * cursor when the cursor names the current generation.
 *
 * KEYS: meta. ARGV: logPrefix, maxEvents, cursor gen (or ''), cursor seq, page size (0: meta
 * only).
 *
 * Returns `{}` when there is no meta, else `{…meta, entries}` (`entries` an XRANGE reply).
 */
export const OPEN = `${META}
local m = meta(KEYS[1], ARGV[1], ARGV[2])
if not m then return {} end
local entries = {}
if tonumber(ARGV[5]) > 0 and ARGV[3] == m[1] then
  local from = '-'
  if tonumber(ARGV[4]) > 0 then from = '(' .. ARGV[4] .. '-0' end
  entries = redis.call('XRANGE', ARGV[1] .. m[1], from, '+', 'COUNT', ARGV[5])
end
table.insert(m, entries)
return m
`;
