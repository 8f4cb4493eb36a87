import { type RedisClient, type RedisKeys, type RedisScript, type V1Ticket, defineScript, v1TicketSchema } from '@triage/shared';

/**
 * The ZSET score orders by urgency level first, then arrival: level·1e13 + an INCR sequence
 * (a sequence, not a timestamp, because tickets can arrive in the same millisecond). Scores stay
 * exact doubles for 1e13 tickets per level.
 * KEYS: queue zset, records hash, sequence; ARGV: ticket id, urgency level, record JSON
 */
const PUSH = `
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) * 1e13 + seq, ARGV[1])
return seq
`;

/** ZPOPMIN and the record in one step, so two callers never get the same ticket. KEYS: queue, records */
const POP = `
while true do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then return nil end
  local record = redis.call('HGET', KEYS[2], popped[1])
  if record then
    redis.call('HDEL', KEYS[2], popped[1])
    return record
  end
end
`;

/** KEYS: queue, records */
const PEEK = `
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if #head == 0 then return nil end
return redis.call('HGET', KEYS[2], head[1])
`;

/** KEYS: queue, records → how many tickets were dropped. The sequence stays, so order survives. */
const DRAIN = `
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
`;

/** The synchronous API's queue: in Redis, so tickets outlive gateway restarts and are shared by replicas. */
export class V1Queue {
  private readonly scripts: Record<'push' | 'pop' | 'peek' | 'drain', RedisScript>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.scripts = {
      push: defineScript(redis, 'triageV1Push', PUSH),
      pop: defineScript(redis, 'triageV1Pop', POP),
      peek: defineScript(redis, 'triageV1Peek', PEEK),
      drain: defineScript(redis, 'triageV1Drain', DRAIN),
    };
  }

  async push(ticket: V1Ticket): Promise<void> {
    await this.scripts.push(3, this.keys.v1Queue, this.keys.v1Tickets, this.keys.v1Sequence, ticket.ticket_id, ticket.urgency_level, JSON.stringify(ticket));
  }

  async pop(): Promise<V1Ticket | null> {
    return parse(await this.scripts.pop(2, this.keys.v1Queue, this.keys.v1Tickets));
  }

  async peek(): Promise<V1Ticket | null> {
    return parse(await this.scripts.peek(2, this.keys.v1Queue, this.keys.v1Tickets));
  }

  depth(): Promise<number> {
    return this.redis.zcard(this.keys.v1Queue);
  }

  async drain(): Promise<number> {
    return (await this.scripts.drain(2, this.keys.v1Queue, this.keys.v1Tickets)) as number;
  }
}

function parse(raw: unknown): V1Ticket | null {
  return typeof raw === 'string' ? v1TicketSchema.parse(JSON.parse(raw)) : null;
}
