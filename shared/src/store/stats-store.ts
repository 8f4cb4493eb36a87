import type { RedisClient } from '../redis-connection';
import type { RedisKeys } from '../queues';
import { type BucketRange, bucketOf, bucketsFor } from '../monitoring/window';
import { type RedisScript, defineScript } from './redis-script';

/** One processed ticket as the live statistics see it. */
export interface ProcessedEvent {
  at: number;
  category: string;
  action: string;
  model_used: string;
  model_version: string;
  urgency: number;
  /** Encoder input length in tokens; unknown for fallback answers. */
  tokens?: number | undefined;
  /** accepted → processed, milliseconds. */
  latency_ms: number;
}

/** `sla_breach` has its own once-per-ticket path (recordSlaBreach). */
export type AgentEvent = 'lease' | 'ack' | 'release' | 'correction';

/** An agent's verdict on a prediction without a correction record (a plain ack keeps the predicted queue). */
export interface Verdict {
  at: number;
  predicted_queue: string;
  model_version: string;
  kept: boolean;
}

/** Sums of one window's buckets, parsed by field family. */
export interface WindowCounts {
  processed: number;
  byQueue: Record<string, number>;
  byAction: Record<string, number>;
  byModelUsed: Record<string, number>;
  byModelVersion: Record<string, number>;
  /** urgency percent (0–99) → count */
  urgency: Map<number, number>;
  tokens: Map<number, number>;
  /** latency bin → count (see latencyBin) */
  latency: Map<number, number>;
  events: Record<string, number>;
  /** kept/total of verdicts by model version and by predicted queue */
  verdicts: { byVersion: Record<string, { kept: number; n: number }>; byQueue: Record<string, { kept: number; n: number }> };
}

const MINUTE_TTL_S = 3 * 3600;
const HOUR_TTL_S = 8 * 86_400;
/** Latency bins grow by 10 %: p50/p95 come out within 10 % of the true value. */
const LATENCY_GROWTH = 1.1;
/** Recent tickets the review list keeps (by margin), and for how long. */
const REVIEW_CAP = 10_000;
const REVIEW_HORIZON_MS = 86_400_000;

export const latencyBin = (ms: number) => (ms <= 1 ? 0 : Math.ceil(Math.log(ms) / Math.log(LATENCY_GROWTH)));
export const latencyBinUpperMs = (bin: number) => Math.pow(LATENCY_GROWTH, bin);

/** Smallest bin value whose cumulative count reaches quantile q; null without data. */
export function quantileOf(counts: Map<number, number>, q: number): number | null {
  const entries = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [value, count] of entries) {
    seen += count;
    if (seen >= q * total) return value;
  }
  return entries[entries.length - 1]![0];
}

/**
 * One processed ticket in one round trip: each field counted once into the minute and the hour bucket
 * (a MULTI of the same took 21 commands per ticket, a visible share of a worker's CPU), then the review
 * list: the ticket by margin and by time, minus what is older than the horizon or over the cap.
 * KEYS: minute bucket, hour bucket, review by margin, review by time.
 * ARGV: minute TTL, hour TTL, ticket id, margin, at, horizon, cap, then the fields.
 */
const RECORD_PROCESSED = `
for i = 8, #ARGV do
  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
  redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[6], 'LIMIT', 0, 1000)
local excess = redis.call('ZCARD', KEYS[4]) - #old - tonumber(ARGV[7])
if excess > 0 then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[6], '+inf', 'LIMIT', 0, excess)
  for _, id in ipairs(oldest) do old[#old + 1] = id end
end
for i = 1, #old, 500 do
  local chunk = { unpack(old, i, math.min(i + 499, #old)) }
  redis.call('ZREM', KEYS[3], unpack(chunk))
  redis.call('ZREM', KEYS[4], unpack(chunk))
end
return #old
`;

const COUNT_SLA_BREACH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'sla_breach_counted_at', ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'e:sla_breach', 1)
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[3], 'e:sla_breach', 1)
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
`;

/**
 * Time-bucketed counters of what the service did (one HINCRBY per figure into a minute and an
 * hour bucket, both with a TTL), so a window's statistics cost one HGETALL per bucket however many
 * tickets flowed, and nothing grows without bound.
 */
export class StatsStore {
  private readonly recordProcessedScript: RedisScript;
  private readonly countSlaBreach: RedisScript<number>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.recordProcessedScript = defineScript(redis, 'triageRecordProcessed', RECORD_PROCESSED, 4);
    this.countSlaBreach = defineScript<number>(redis, 'triageCountSlaBreach', COUNT_SLA_BREACH, 3);
  }

  private increments(at: number, fields: Record<string, number>) {
    const multi = this.redis.multi();
    for (const [resolution, ttl] of [['m', MINUTE_TTL_S], ['h', HOUR_TTL_S]] as const) {
      const key = this.keys.statsBucket(resolution, bucketOf(resolution, at));
      for (const [field, by] of Object.entries(fields)) multi.hincrby(key, field, by);
      multi.expire(key, ttl);
    }
    return multi;
  }

  /** Records a processed ticket; `margin` (top-1 − top-2 probability) feeds the review list. */
  async recordProcessed(ticketId: string, e: ProcessedEvent, margin: number): Promise<void> {
    const fields = [
      'n',
      `q:${e.category}`,
      `a:${e.action}`,
      `m:${e.model_used}`,
      `v:${e.model_version}`,
      `u:${Math.min(99, Math.max(0, Math.floor(e.urgency * 100)))}`,
      `l:${latencyBin(e.latency_ms)}`,
      ...(e.tokens !== undefined ? [`t:${e.tokens}`] : []),
    ];
    await this.recordProcessedScript(
      this.keys.statsBucket('m', bucketOf('m', e.at)),
      this.keys.statsBucket('h', bucketOf('h', e.at)),
      this.keys.reviewByMargin,
      this.keys.reviewByTime,
      MINUTE_TTL_S,
      HOUR_TTL_S,
      ticketId,
      margin,
      e.at,
      e.at - REVIEW_HORIZON_MS,
      REVIEW_CAP,
      ...fields,
    );
  }

  async recordEvent(event: AgentEvent, at = Date.now()): Promise<void> {
    await this.increments(at, { [`e:${event}`]: 1 }).exec();
  }

  /**
   * A ticket whose due time passed before an agent first took it, counted once per ticket in the
   * bucket of its due time → whether this call counted it.
   */
  async recordSlaBreach(ticketId: string, dueAtMs: number): Promise<boolean> {
    const counted = await this.countSlaBreach(
      this.keys.ticket(ticketId),
      this.keys.statsBucket('m', bucketOf('m', dueAtMs)),
      this.keys.statsBucket('h', bucketOf('h', dueAtMs)),
      dueAtMs,
      MINUTE_TTL_S,
      HOUR_TTL_S,
    );
    return counted === 1;
  }

  async recordVerdict(v: Verdict): Promise<void> {
    const ok = v.kept ? 1 : 0;
    await this.increments(v.at, {
      [`vn:${v.model_version}`]: 1,
      [`vk:${v.model_version}`]: ok,
      [`qn:${v.predicted_queue}`]: 1,
      [`qk:${v.predicted_queue}`]: ok,
    }).exec();
  }

  async window(windowMs: number, now = Date.now()): Promise<WindowCounts & { range: BucketRange }> {
    const range = bucketsFor(windowMs, now);
    const pipeline = this.redis.pipeline();
    for (const b of range.buckets) pipeline.hgetall(this.keys.statsBucket(range.resolution, b));
    const replies = (await pipeline.exec()) ?? [];
    const out: WindowCounts = {
      processed: 0,
      byQueue: {},
      byAction: {},
      byModelUsed: {},
      byModelVersion: {},
      urgency: new Map(),
      tokens: new Map(),
      latency: new Map(),
      events: {},
      verdicts: { byVersion: {}, byQueue: {} },
    };
    const add = (rec: Record<string, number>, k: string, by: number) => (rec[k] = (rec[k] ?? 0) + by);
    const addMap = (m: Map<number, number>, k: string, by: number) => m.set(Number(k), (m.get(Number(k)) ?? 0) + by);
    const verdict = (rec: Record<string, { kept: number; n: number }>, k: string, field: 'kept' | 'n', by: number) => {
      const entry = (rec[k] ??= { kept: 0, n: 0 });
      entry[field] += by;
    };
    for (const [err, hash] of replies) {
      if (err) throw err;
      for (const [field, raw] of Object.entries(hash as Record<string, string>)) {
        const by = Number(raw);
        const colon = field.indexOf(':');
        const family = colon < 0 ? field : field.slice(0, colon);
        const key = field.slice(colon + 1);
        switch (family) {
          case 'n': out.processed += by; break;
          case 'q': add(out.byQueue, key, by); break;
          case 'a': add(out.byAction, key, by); break;
          case 'm': add(out.byModelUsed, key, by); break;
          case 'v': add(out.byModelVersion, key, by); break;
          case 'u': addMap(out.urgency, key, by); break;
          case 't': addMap(out.tokens, key, by); break;
          case 'l': addMap(out.latency, key, by); break;
          case 'e': add(out.events, key, by); break;
          case 'vn': verdict(out.verdicts.byVersion, key, 'n', by); break;
          case 'vk': verdict(out.verdicts.byVersion, key, 'kept', by); break;
          case 'qn': verdict(out.verdicts.byQueue, key, 'n', by); break;
          case 'qk': verdict(out.verdicts.byQueue, key, 'kept', by); break;
        }
      }
    }
    return { ...out, range };
  }

  /** Ticket ids of the review list, smallest margin first (the caller filters out labelled ones). */
  async reviewCandidates(count: number, now = Date.now()): Promise<{ ticketId: string; margin: number }[]> {
    const cutoff = now - REVIEW_HORIZON_MS;
    const flat = await this.redis.zrange(this.keys.reviewByMargin, 0, count - 1, 'WITHSCORES');
    const ids: { ticketId: string; margin: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) ids.push({ ticketId: flat[i]!, margin: Number(flat[i + 1]) });
    if (ids.length === 0) return ids;
    const times = await this.redis.zmscore(this.keys.reviewByTime, ...ids.map((x) => x.ticketId));
    return ids.filter((_, i) => times[i] !== null && Number(times[i]) >= cutoff);
  }
}
