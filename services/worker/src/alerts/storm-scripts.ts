/**
 * Storm grouping runs as one Lua script per ticket and destination, so concurrent workers
 * agree on which cluster a ticket joins and exactly one of them opens the incident.
 *
 * Keys under B = `<prefix>:storm:<destination>`:
 *   B:clusters    ZSET cluster id → last arrival (ms); clusters quiet for a window drop out
 *   B:t:<ticket>  STRING "<cluster id>|<decision>"; makes reprocessing a ticket a no-op
 *   B:c:<id>      HASH embedding (seed, JSON), opened 0|1, first_ms, last_ms, plus delivery
 *                 state per incident (sent_count, message_id) written by the alert processor
 *   B:c:<id>:m    ZSET ticket id → arrival (ms)
 *   B:c:<id>:l    HASH ticket id → label shown in the incident alert
 *
 * KEYS: B:clusters, B:t:<ticket>
 * ARGV: B, now ms, window ms, similarity threshold, storm size, ticket id, new cluster id,
 *       embedding JSON, label, state TTL ms, clusters to compare with
 *
 * Only the most recently active clusters are compared: a storm's cluster is by definition
 * busy, and the scan blocks Redis (~0.05 ms per 384-d cluster), so it must stay bounded.
 * → "<cluster id>|single|open|grouped"
 */
export const ASSIGN_TO_STORM = `
local prior = redis.call('GET', KEYS[2])
if prior then return prior end
local base, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
local e = cjson.decode(ARGV[8])
local best, bestSim = nil, tonumber(ARGV[4])
for _, cid in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[11]) - 1)) do
  local raw = redis.call('HGET', base .. ':c:' .. cid, 'embedding')
  if raw then
    local c = cjson.decode(raw)
    local dot = 0
    for i = 1, math.min(#c, #e) do dot = dot + c[i] * e[i] end
    if dot > bestSim then best, bestSim = cid, dot end
  end
end
local cid = best or ARGV[7]
local ck = base .. ':c:' .. cid
if not best then redis.call('HSET', ck, 'embedding', ARGV[8], 'opened', '0', 'first_ms', now) end
redis.call('HSET', ck, 'last_ms', now)
redis.call('ZADD', ck .. ':m', now, ARGV[6])
redis.call('HSET', ck .. ':l', ARGV[6], ARGV[9])
redis.call('ZADD', KEYS[1], now, cid)
local decision = 'single'
if redis.call('HGET', ck, 'opened') == '1' then
  decision = 'grouped'
elseif redis.call('ZCOUNT', ck .. ':m', now - window, '+inf') > tonumber(ARGV[5]) then
  redis.call('HSET', ck, 'opened', '1')
  decision = 'open'
end
local result = cid .. '|' .. decision
redis.call('SET', KEYS[2], result, 'PX', ARGV[10])
for _, k in ipairs({KEYS[1], ck, ck .. ':m', ck .. ':l'}) do redis.call('PEXPIRE', k, ARGV[10]) end
return result
`;
