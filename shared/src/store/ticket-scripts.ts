/**
 * Lua scripts for the ticket store. Each runs atomically inside Redis, which is what keeps
 * the status counters, the urgency ZSET and the ticket hashes consistent with each other.
 */

/**
 * KEYS: ticket hash, status counts[, idempotency key]
 * ARGV: ticket id, idempotency TTL (s), field/value pairs…
 * → {1, id} when created, {0, existing id} when the idempotency key was already used.
 */
export const CREATE_TICKET = `
if KEYS[3] then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {0, existing} end
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('HINCRBY', KEYS[2], 'pending', 1)
return {1, ARGV[1]}
`;

/**
 * Undoes CREATE_TICKET for a ticket that never reached the queue, so a 503 leaves nothing
 * behind and a retry with the same Idempotency-Key creates the ticket afresh.
 * KEYS: ticket hash, status counts[, idempotency key]; ARGV: ticket id → 1 when removed.
 */
export const DISCARD_PENDING_TICKET = `
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HINCRBY', KEYS[2], 'pending', -1)
if KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1
`;

/**
 * KEYS: ticket hash, status counts
 * ARGV: new status, comma-separated statuses allowed to move, field/value pairs…
 * → {applied 0|1, previous status} or nil when the ticket does not exist.
 */
export const TRANSITION_STATUS = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return nil end
if not string.find(',' .. ARGV[2] .. ',', ',' .. current .. ',', 1, true) then return {0, current} end
if current ~= ARGV[1] then
  redis.call('HINCRBY', KEYS[2], current, -1)
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 3))
return {1, current}
`;

/**
 * Writes the result, counts it and queues it for agents in one step, but only while the
 * caller still holds the ticket lock: a MULTI cannot check the token without WATCH, and
 * WATCH needs a connection per job, so the fence lives here.
 * KEYS: ticket hash, status counts, urgency zset, ticket lock
 * ARGV: lock token, ticket id, urgency score, field/value pairs…
 */
export const COMMIT_RESULT = `
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return 'lock-lost' end
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return 'missing' end
if current == 'processed' then return 'already-processed' end
redis.call('HSET', KEYS[1], 'status', 'processed', unpack(ARGV, 4))
redis.call('HDEL', KEYS[1], 'error')
redis.call('HINCRBY', KEYS[2], current, -1)
redis.call('HINCRBY', KEYS[2], 'processed', 1)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return 'committed'
`;

/**
 * ZPOPMAX + HGETALL as one step, so two agents can never receive the same ticket.
 * The ticket key is derived from the popped id, which is fine on a single Redis (not Cluster).
 * KEYS: urgency zset; ARGV: ticket key prefix, taken_at timestamp → flat HGETALL reply or nil.
 */
export const POP_MOST_URGENT = `
while true do
  local popped = redis.call('ZPOPMAX', KEYS[1])
  if #popped == 0 then return nil end
  local key = ARGV[1] .. popped[1]
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'taken_at', ARGV[2])
    return redis.call('HGETALL', key)
  end
end
`;

/** KEYS: lock; ARGV: token, TTL (ms) → 1 when renewed, 0 when the lock is no longer the caller's. */
export const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: lock; ARGV: token → 1 when released, 0 when someone else holds it now. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
