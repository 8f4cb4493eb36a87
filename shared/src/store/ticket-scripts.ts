/**
 * Lua scripts for the ticket store. Each runs atomically inside Redis, which is what keeps
 * the status counters, the agents' queue, the lease/SLA/retention indexes and the ticket
 * hashes consistent with each other. Ticket keys derived from ids inside a script share the
 * prefix of the KEYS passed in (a `{hash-tag}` prefix keeps them in one Cluster slot).
 */
import { QUEUE_SCORE_LUA } from './queue-policy';

/** Appended to the agents' queue key: the key of the AGING_PER_HOUR its scores were computed with. */
export const QUEUE_RATE_SUFFIX = ':rate';
/** Beside the rate: when the process whose rate it is started (ms), so an older process defers to it. */
export const QUEUE_RATE_SINCE_SUFFIX = ':rate:since';

/**
 * Scoring under the queue's recorded rate: whoever writes an entry, every entry of the queue has the
 * same rate, so its order stays that of the effective priorities. No recorded rate: a queue from
 * before rates were recorded, scored with the writers' own rates until its first rescoring.
 */
const QUEUE_RATE = `${QUEUE_SCORE_LUA}
local function queue_rate(queue) return redis.call('GET', queue .. '${QUEUE_RATE_SUFFIX}') end
`;

/**
 * KEYS: ticket hash, status counts, pending index[, idempotency key]
 * ARGV: ticket id, idempotency TTL (s), accepted at (ms), field/value pairs…
 * → {1, id} when created, {0, existing id} when the idempotency key was already used.
 */
export const CREATE_TICKET = `
if KEYS[4] then
  local existing = redis.call('GET', KEYS[4])
  if existing then return {0, existing} end
  redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HINCRBY', KEYS[2], 'pending', 1)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return {1, ARGV[1]}
`;

/**
 * Undoes CREATE_TICKET for a ticket that never reached the queue, so a 503 leaves nothing
 * behind and a retry with the same Idempotency-Key creates the ticket afresh.
 * KEYS: ticket hash, status counts, pending index[, idempotency key]; ARGV: ticket id → 1 when removed.
 */
export const DISCARD_PENDING_TICKET = `
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HINCRBY', KEYS[2], 'pending', -1)
redis.call('ZREM', KEYS[3], ARGV[1])
if KEYS[4] and redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return 1
`;

/**
 * Moves a ticket hash to status `to` when its status is one of `from` (a comma-separated list):
 * the counters and the pending index follow → {applied 0|1, previous status}, or nil when the ticket
 * does not exist. `deleteAt` > 0 puts it in the retention index; extra field/value pairs are written too.
 */
const TRANSITION = `
local function transition(key, counts, pending, retention, to, from, id, deleteAt, ...)
  local current = redis.call('HGET', key, 'status')
  if not current then return nil end
  if not string.find(',' .. from .. ',', ',' .. current .. ',', 1, true) then return {0, current} end
  if current ~= to then
    redis.call('HINCRBY', counts, current, -1)
    redis.call('HINCRBY', counts, to, 1)
  end
  if current == 'pending' and to ~= 'pending' then redis.call('ZREM', pending, id) end
  if tonumber(deleteAt) > 0 then redis.call('ZADD', retention, deleteAt, id) end
  redis.call('HSET', key, 'status', to, ...)
  return {1, current}
end
`;

/**
 * KEYS: ticket hash, status counts, pending index, retention index
 * ARGV: new status, comma-separated statuses allowed to move, ticket id, delete-at (ms, 0 = keep), field/value pairs…
 * → {applied 0|1, previous status} or nil when the ticket does not exist.
 */
export const TRANSITION_STATUS = `${TRANSITION}
return transition(KEYS[1], KEYS[2], KEYS[3], KEYS[4], unpack(ARGV))
`;

/**
 * A worker's first step on a ticket, in one round trip: take the ticket lock, then move the ticket
 * to processing. The lock is kept only when the ticket moved; otherwise it is given back at once.
 * KEYS: ticket lock, ticket hash, status counts, pending index, retention index
 * ARGV: lock token, lock TTL (ms), ticket id
 * → {'locked'} (another worker holds it), {'missing'}, {'done', status} or {'started', previous status}.
 */
export const START_PROCESSING = `${TRANSITION}
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {'locked'} end
local moved = transition(KEYS[2], KEYS[3], KEYS[4], KEYS[5], 'processing', 'pending,processing,failed', ARGV[3], 0)
if moved and moved[1] == 1 then return {'started', moved[2]} end
redis.call('DEL', KEYS[1])
if not moved then return {'missing'} end
return {'done', moved[2]}
`;

/**
 * Writes the result, counts it and queues it for agents in one step, but only while the
 * caller still holds the ticket lock: a MULTI cannot check the token without WATCH, and
 * WATCH needs a connection per job, so the fence lives here. Whatever the outcome but
 * 'lock-lost', the lock is given back, and a committed ticket's record is returned, so the
 * worker needs no further round trip for either.
 * The record keeps the queue entry time, score and rate the ticket was scored with.
 * KEYS: ticket hash, status counts, agents' queue, ticket lock, SLA index, retention index, pending index, leases
 * ARGV: lock token, ticket id, urgency, queued at (ms), the caller's rate, due at (ms), delete at (ms), the caller's
 * start (ms), field/value pairs…
 * → {outcome} or {'committed', flat field/value list of the ticket hash, the queue's recorded rate or nil}
 */
export const COMMIT_RESULT = `${QUEUE_RATE}
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return {'lock-lost'} end
redis.call('DEL', KEYS[4])
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
if current ~= 'pending' and current ~= 'processing' and current ~= 'failed' then return {'already-processed'} end
local recorded = queue_rate(KEYS[3])
if not recorded and redis.call('EXISTS', KEYS[3], KEYS[8]) == 0 then
  -- Nothing queued or leased was scored before: the queue takes the caller's rate.
  recorded = ARGV[5]
  redis.call('SET', KEYS[3] .. '${QUEUE_RATE_SUFFIX}', recorded)
  redis.call('SET', KEYS[3] .. '${QUEUE_RATE_SINCE_SUFFIX}', ARGV[8])
end
local rate = recorded or ARGV[5]
local score = queue_score(tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(rate))
redis.call('HSET', KEYS[1], 'status', 'processed', 'queued_at', ARGV[4], 'queue_score', score, 'aging_per_hour', rate, 'due_at', ARGV[6], unpack(ARGV, 9))
redis.call('HDEL', KEYS[1], 'error')
redis.call('HINCRBY', KEYS[2], current, -1)
redis.call('HINCRBY', KEYS[2], 'processed', 1)
redis.call('ZADD', KEYS[3], score, ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[2])
redis.call('ZADD', KEYS[6], ARGV[7], ARGV[2])
redis.call('ZREM', KEYS[7], ARGV[2])
return {'committed', redis.call('HGETALL', KEYS[1]), recorded or false}
`;

/** Lease fields of a ticket hash; removed whenever the lease ends. */
const LEASE_FIELDS = `'lease_agent', 'leased_at', 'lease_expires_at'`;

/**
 * Puts one leased ticket back into the agents' queue at its place: scored with the queue's rate,
 * which may have changed while it was leased (a record without a queue entry time, from before
 * rescoring, keeps its stored score). Used by release, by expiry and by holder actions that find
 * the lease already expired.
 */
const REQUEUE = `${QUEUE_RATE}
local function requeue(key, id, queue, leases, counts, expired)
  local fields = redis.call('HMGET', key, 'queue_score', 'urgency_score', 'queued_at')
  local rate = queue_rate(queue)
  local score = fields[1] or fields[2] or 0
  if rate and fields[3] then score = queue_score(tonumber(fields[2]), tonumber(fields[3]), tonumber(rate)) end
  redis.call('HSET', key, 'status', 'processed')
  redis.call('HDEL', key, ${LEASE_FIELDS})
  if expired then redis.call('HINCRBY', key, 'lease_expiries', 1) end
  redis.call('HINCRBY', counts, 'leased', -1)
  redis.call('HINCRBY', counts, 'processed', 1)
  redis.call('ZREM', leases, id)
  redis.call('ZADD', queue, score, id)
end

-- Returns every lease that expired by now (at most limit) to the queue → how many.
local function reclaim(queue, leases, counts, prefix, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(expired) do
    local key = prefix .. id
    if redis.call('HGET', key, 'status') == 'leased' then
      requeue(key, id, queue, leases, counts, true)
    else
      redis.call('ZREM', leases, id)
    end
  end
  return #expired
end
`;

/**
 * KEYS: agents' queue, leases, status counts
 * ARGV: ticket key prefix, now (ms), max leases to reclaim → how many expired leases went back.
 */
export const RECLAIM_EXPIRED_LEASES = `${REQUEUE}
return reclaim(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], tonumber(ARGV[3]))
`;

/**
 * Reclaims expired leases first (so expiry is exact whenever agents ask for work), then leases
 * the ticket with the highest effective priority: ZPOPMAX + HSET in one step, so two agents can
 * never receive the same ticket. Entries whose record is gone or no longer waiting are dropped.
 * KEYS: agents' queue, leases, status counts
 * ARGV: ticket key prefix, agent id, now (ms), lease TTL (ms), max leases to reclaim → flat HGETALL reply or nil.
 */
export const LEASE_NEXT = `${REQUEUE}
local now = tonumber(ARGV[3])
reclaim(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now, tonumber(ARGV[5]))
while true do
  local popped = redis.call('ZPOPMAX', KEYS[1])
  if #popped == 0 then return nil end
  local id = popped[1]
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'status') == 'processed' then
    local expires = now + tonumber(ARGV[4])
    redis.call('HSET', key, 'status', 'leased', 'lease_agent', ARGV[2], 'leased_at', now, 'lease_expires_at', expires)
    redis.call('HSETNX', key, 'first_leased_at', now)
    redis.call('HINCRBY', key, 'lease_count', 1)
    redis.call('HINCRBY', KEYS[3], 'processed', -1)
    redis.call('HINCRBY', KEYS[3], 'leased', 1)
    redis.call('ZADD', KEYS[2], expires, id)
    return redis.call('HGETALL', key)
  end
end
`;

/**
 * One chunk of a rescoring (TicketStore.rescoreQueue): the ids' new scores under `rate` go into
 * the staging set, for those still in the agents' queue, and waiting or leased records take the
 * new score and rate (what they show) and keep a queue entry time for later requeues (the one
 * passed when they have none yet). The queue keeps its scores, so /next keeps a consistent order.
 * KEYS: agents' queue, staging set
 * ARGV: rate, ticket key prefix, staging TTL (ms), id/queued-at (ms) pairs… → how many were staged.
 */
export const STAGE_RESCORE = `${QUEUE_RATE}
local rate, staged = tonumber(ARGV[1]), 0
for i = 4, #ARGV, 2 do
  local id, key = ARGV[i], ARGV[2] .. ARGV[i]
  local fields = redis.call('HMGET', key, 'status', 'urgency_score', 'queued_at')
  local queued = redis.call('ZSCORE', KEYS[1], id)
  if fields[1] == 'processed' or fields[1] == 'leased' then
    local at = fields[3] or ARGV[i + 1]
    local score = queue_score(tonumber(fields[2]), tonumber(at), rate)
    redis.call('HSET', key, 'queued_at', at, 'queue_score', score, 'aging_per_hour', ARGV[1])
    if queued then
      redis.call('ZADD', KEYS[2], score, id)
      staged = staged + 1
    end
  elseif queued then
    -- Gone or no longer waiting: /next would drop it, and staging it never could.
    redis.call('ZREM', KEYS[1], id)
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return staged
`;

/**
 * Ends a rescoring in one step, so /next sees the queue wholly under the old rate or wholly under
 * the new one: every ticket still waiting takes its staged score, tickets that left meanwhile stay
 * out, and the queue records its new rate (and the rescoring process's start). Tickets queued since the
 * chunks were staged come back instead (nothing changes), for the caller to stage before it calls again.
 * KEYS: agents' queue, staging set; ARGV: rate, the caller's start (ms) → the ids still to stage ({} once swapped).
 */
export const SWAP_RESCORED = `
local missing = redis.call('ZDIFF', 2, KEYS[1], KEYS[2])
if #missing > 0 then return missing end
redis.call('ZINTERSTORE', KEYS[1], 2, KEYS[2], KEYS[1], 'WEIGHTS', 1, 0)
redis.call('SET', KEYS[1] .. '${QUEUE_RATE_SUFFIX}', ARGV[1])
redis.call('SET', KEYS[1] .. '${QUEUE_RATE_SINCE_SUFFIX}', ARGV[2])
redis.call('DEL', KEYS[2])
return missing
`;

/** KEYS: lock; ARGV: token, TTL (ms) → 1 when renewed, 0 when the lock is no longer the caller's. */
export const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/**
 * The holder check shared by ack, release and extend. A lease past its expiry is returned to
 * the queue right here, so its former holder learns it lost the ticket whether or not the
 * sweep has run yet.
 * → nil when the caller holds a live lease, else the reply to return.
 */
const HOLDER_CHECK = `${REQUEUE}
local function check_holder(key, id, queue, leases, counts, agent, now)
  local s = redis.call('HMGET', key, 'status', 'lease_agent', 'lease_expires_at', 'done_by')
  if not s[1] then return {'missing'} end
  if s[1] == 'done' then return {'not-holder', 'done', s[4] or ''} end
  if s[1] ~= 'leased' then return {'not-leased', s[1]} end
  if s[2] ~= agent then return {'not-holder', 'leased', s[2]} end
  if tonumber(s[3]) <= now then
    requeue(key, id, queue, leases, counts, true)
    return {'expired'}
  end
  return nil
end
`;

/**
 * KEYS: ticket hash, agents' queue, leases, status counts, SLA index, retention index, feedback stream
 * ARGV: ticket id, agent id, now (ms), delete at (ms), correction JSON ('' = none), feedback field/value pairs…
 * → {'ok'[, feedback id]} | {'already-done'} | {'missing'} | {'not-holder', status, holder} | {'not-leased', status} | {'expired'}
 */
export const ACK_TICKET = `${HOLDER_CHECK}
local done = redis.call('HMGET', KEYS[1], 'status', 'done_by')
if done[1] == 'done' and done[2] == ARGV[2] then return {'already-done'} end
local refused = check_holder(KEYS[1], ARGV[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], tonumber(ARGV[3]))
if refused then return refused end
redis.call('HSET', KEYS[1], 'status', 'done', 'done_by', ARGV[2], 'done_at', ARGV[3])
redis.call('HDEL', KEYS[1], ${LEASE_FIELDS})
redis.call('HINCRBY', KEYS[4], 'leased', -1)
redis.call('HINCRBY', KEYS[4], 'done', 1)
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1])
if ARGV[5] == '' then return {'ok'} end
redis.call('HSET', KEYS[1], 'correction', ARGV[5])
return {'ok', redis.call('XADD', KEYS[7], '*', unpack(ARGV, 6))}
`;

/**
 * KEYS: ticket hash, agents' queue, leases, status counts
 * ARGV: ticket id, agent id, now (ms) → as ACK_TICKET, without 'already-done'
 */
export const RELEASE_TICKET = `${HOLDER_CHECK}
local refused = check_holder(KEYS[1], ARGV[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], tonumber(ARGV[3]))
if refused then return refused end
requeue(KEYS[1], ARGV[1], KEYS[2], KEYS[3], KEYS[4], false)
return {'ok'}
`;

/**
 * KEYS: ticket hash, agents' queue, leases, status counts
 * ARGV: ticket id, agent id, now (ms), lease TTL (ms) → as RELEASE_TICKET
 */
export const EXTEND_LEASE = `${HOLDER_CHECK}
local refused = check_holder(KEYS[1], ARGV[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], tonumber(ARGV[3]))
if refused then return refused end
local expires = tonumber(ARGV[3]) + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'lease_expires_at', expires)
redis.call('ZADD', KEYS[3], expires, ARGV[1])
return {'ok'}
`;

/**
 * A correction outside an ack: any agent may correct a triaged ticket, whoever holds it.
 * KEYS: ticket hash, feedback stream
 * ARGV: correction JSON, feedback field/value pairs… → feedback entry id, or nil when the ticket has no result (or no record).
 */
export const ADD_CORRECTION = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'processed' and status ~= 'leased' and status ~= 'done' then return status or false end
redis.call('HSET', KEYS[1], 'correction', ARGV[1])
return {redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))}
`;

/**
 * Deletes records whose retention time has come, with their alert log and index entries, and
 * keeps the status counters exact. A ticket back in flight (a failed one retried) is left for
 * its next final state to set a new time.
 * KEYS: retention index, status counts, agents' queue, leases, SLA index
 * ARGV: ticket key prefix, alert log key prefix, now (ms), limit → {entries looked at, records deleted}
 */
export const DELETE_EXPIRED_RECORDS = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local deleted = 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local status = redis.call('HGET', key, 'status')
  if status ~= 'pending' and status ~= 'processing' then
    if status then
      redis.call('HINCRBY', KEYS[2], status, -1)
      deleted = deleted + 1
    end
    redis.call('DEL', key, ARGV[2] .. id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
  end
  redis.call('ZREM', KEYS[1], id)
end
return {#ids, deleted}
`;

/**
 * Records that an SLA alert was raised (HSET on a missing record would create a stub, hence
 * the script); after the breach alert nothing more can fire, so the index entry goes.
 * KEYS: ticket hash, SLA index; ARGV: ticket id, phase ('warning' | 'breached'), now (ms) → 1 when recorded.
 */
export const MARK_SLA_ALERTED = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'sla_' .. ARGV[2] .. '_at', ARGV[3])
if ARGV[2] == 'breached' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
`;

/** KEYS: lock; ARGV: token → 1 when released, 0 when someone else holds it now. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
