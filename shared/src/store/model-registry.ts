import type { RedisClient } from '../redis-connection';
import { z } from 'zod';
import type { RedisKeys } from '../queues';
import { type RedisScript, defineScript } from './redis-script';

/** The version every worker and gateway should serve, and the one before it (rollback). */
export const activeModelSchema = z.object({
  version: z.string().min(1),
  dir: z.string().min(1),
  promoted_at: z.iso.datetime(),
  previous_version: z.string().min(1).optional(),
  previous_dir: z.string().min(1).optional(),
});
export type ActiveModel = z.infer<typeof activeModelSchema>;

/** What one process says about its last attempt to load the active model. */
export const modelReportSchema = z.object({
  version: z.string(),
  ok: z.boolean(),
  error: z.string().optional(),
  at: z.iso.datetime(),
});
export type ModelReport = z.infer<typeof modelReportSchema>;

// Sets the active model, keeping the current one as previous, and announces it — in one step, so
// two promotions never interleave. KEYS: active hash. ARGV: channel, version, dir, now.
const PROMOTE = `
local cur = redis.call('HMGET', KEYS[1], 'version', 'dir')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'dir', ARGV[3], 'promoted_at', ARGV[4])
if cur[1] and cur[1] ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'previous_version', cur[1], 'previous_dir', cur[2])
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;

// Swaps active and previous. KEYS: active hash. ARGV: channel, now. → 0 when there is no previous.
const ROLLBACK = `
local cur = redis.call('HMGET', KEYS[1], 'version', 'dir', 'previous_version', 'previous_dir')
if not cur[3] then return 0 end
redis.call('HSET', KEYS[1], 'version', cur[3], 'dir', cur[4], 'previous_version', cur[1], 'previous_dir', cur[2], 'promoted_at', ARGV[2])
redis.call('PUBLISH', ARGV[1], cur[3])
return 1
`;

// Puts back the whole record a switch replaced (its previous and promoted_at too), so an undone
// promotion leaves no trace — not even as the version rollback would return to — and announces it.
// Only while the switch's own record is still the active one: a promotion made since is someone's later
// decision, and undoing an earlier switch must not overwrite it.
// KEYS: active hash. ARGV: channel, the switch's version and promoted_at, then the record to put back:
// version, dir, promoted_at, previous_version, previous_dir ('' for none). → 0 when the active record moved on.
const RESTORE = `
local cur = redis.call('HMGET', KEYS[1], 'version', 'promoted_at')
if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[4], 'dir', ARGV[5], 'promoted_at', ARGV[6])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'previous_version', ARGV[7], 'previous_dir', ARGV[8])
end
redis.call('PUBLISH', ARGV[1], ARGV[4])
return 1
`;

/** Which model version is active (`keys.modelActive`), and the load reports of the processes following it. */
export class ModelRegistry {
  private readonly promoteScript: RedisScript;
  private readonly rollbackScript: RedisScript<number>;
  private readonly restoreScript: RedisScript<number>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.promoteScript = defineScript(redis, 'triageModelPromote', PROMOTE, 1);
    this.rollbackScript = defineScript<number>(redis, 'triageModelRollback', ROLLBACK, 1);
    this.restoreScript = defineScript<number>(redis, 'triageModelRestore', RESTORE, 1);
  }

  async active(): Promise<ActiveModel | null> {
    const hash = await this.redis.hgetall(this.keys.modelActive);
    const parsed = activeModelSchema.safeParse(hash);
    return parsed.success ? parsed.data : null;
  }

  async promote(version: string, dir: string): Promise<ActiveModel> {
    await this.promoteScript(this.keys.modelActive, this.keys.modelEvents, version, dir, new Date().toISOString());
    return (await this.active())!;
  }

  /** Returns to the previous version; null when there is none. */
  async rollback(): Promise<ActiveModel | null> {
    const done = await this.rollbackScript(this.keys.modelActive, this.keys.modelEvents, new Date().toISOString());
    return done === 1 ? this.active() : null;
  }

  /**
   * Makes `record` (as `active()` read it before a switch) the active model again, exactly, if the active
   * model is still `switched` (what the switch made active). → false when another switch came since.
   */
  async restore(record: ActiveModel, switched: ActiveModel): Promise<boolean> {
    const { version, dir, promoted_at, previous_version = '', previous_dir = '' } = record;
    const done = await this.restoreScript(
      this.keys.modelActive,
      this.keys.modelEvents,
      switched.version,
      switched.promoted_at,
      version,
      dir,
      promoted_at,
      previous_version,
      previous_dir,
    );
    return done === 1;
  }

  async report(processId: string, report: ModelReport): Promise<void> {
    await this.redis.hset(this.keys.modelReports, processId, JSON.stringify(report));
  }

  async reports(): Promise<Record<string, ModelReport>> {
    const hash = await this.redis.hgetall(this.keys.modelReports);
    const out: Record<string, ModelReport> = {};
    for (const [id, raw] of Object.entries(hash)) {
      try {
        const parsed = modelReportSchema.safeParse(JSON.parse(raw));
        if (parsed.success) out[id] = parsed.data;
      } catch {
        // a report that does not parse says nothing
      }
    }
    return out;
  }
}
