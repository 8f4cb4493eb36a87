import type { RedisClient } from '../redis-connection';
import { z } from 'zod';
import type { RedisKeys } from '../queues';

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export const breakerStateSchema = z.enum(BREAKER_STATES);
export type BreakerState = z.infer<typeof breakerStateSchema>;

/** A worker's encoder circuit breaker: closed = the encoder serves, open/half_open = the n-gram fallback does. */
export const breakerSnapshotSchema = z.object({
  state: breakerStateSchema,
  since: z.iso.datetime(),
  consecutive_failures: z.number().int().min(0),
  reason: z.string().nullable(),
});
export type BreakerSnapshot = z.infer<typeof breakerSnapshotSchema>;

export const workerHeartbeatSchema = z.object({
  worker_id: z.string(),
  model_version: z.string(),
  pid: z.number().int(),
  host: z.string(),
  started_at: z.iso.datetime(),
  beat_at: z.iso.datetime(),
  // Optional so a worker from before the breaker still counts as live during a rolling update.
  breaker: breakerSnapshotSchema.optional(),
});
export type WorkerHeartbeat = z.infer<typeof workerHeartbeatSchema>;

/**
 * Workers announce themselves with an expiring key each; a set remembers the ids so readers
 * never need SCAN. Ids whose key has expired are pruned by readers.
 */
export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async beat(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.heartbeat(heartbeat.worker_id), JSON.stringify(heartbeat), 'PX', ttlMs)
      .sadd(this.keys.workers, heartbeat.worker_id)
      .exec();
  }

  async remove(workerId: string): Promise<void> {
    await this.redis.multi().del(this.keys.heartbeat(workerId)).srem(this.keys.workers, workerId).exec();
  }

  async live(): Promise<WorkerHeartbeat[]> {
    const ids = await this.redis.smembers(this.keys.workers);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.heartbeat(id)));
    const dead = ids.filter((_, i) => values[i] === null);
    if (dead.length > 0) await this.redis.srem(this.keys.workers, ...dead);
    return values.flatMap((v) => {
      if (v === null) return [];
      const parsed = workerHeartbeatSchema.safeParse(JSON.parse(v));
      return parsed.success ? [parsed.data] : [];
    });
  }
}
