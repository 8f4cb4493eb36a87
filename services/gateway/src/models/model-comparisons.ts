import { randomUUID } from 'node:crypto';
import {
  ComparisonUnavailableError,
  type Logger,
  type ModelBundle,
  type ModelComparison,
  type RedisClient,
  type RedisKeys,
  compareModels,
  errorMessage,
  modelComparisonSchema,
} from '@triage/shared';
import { HttpError } from '../http-errors';

/** A finished comparison is kept this long (the lead reads it, then promotes). */
const KEEP_SECONDS = 7 * 86_400;

export interface ModelComparisonSettings {
  python: string;
  timeoutMs: number;
}

/**
 * Comparisons of a candidate with the active model over HTTP: each runs `python -m training compare`
 * in a child process (never on the event loop), one at a time per gateway, and lives in Redis so any
 * gateway answers GET /v2/models/compare/{id} and any gateway's promotion finds its verdict.
 */
export class ModelComparisons {
  private running: string | null = null;
  private readonly abort = new AbortController();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly settings: ModelComparisonSettings,
    private readonly logger: Logger,
  ) {}

  /** Starts comparing; resolves once the child runs (503 when python or the training package is missing here). */
  async start(candidate: ModelBundle, active: ModelBundle): Promise<ModelComparison> {
    if (this.running) throw new HttpError(409, `a comparison is already running on this gateway: ${this.running}`);
    const id = randomUUID();
    this.running = id;
    let started: (corrections: number) => void = () => undefined;
    const spawned = new Promise<number>((resolve) => {
      started = resolve;
    });
    const run = compareModels({
      redis: this.redis,
      keys: this.keys,
      candidateDir: candidate.dir,
      activeDir: active.dir,
      python: this.settings.python,
      timeoutMs: this.settings.timeoutMs,
      signal: this.abort.signal,
      onStarted: started,
    });
    let corrections: number;
    try {
      corrections = await Promise.race([spawned, run.then(() => 0)]);
    } catch (err) {
      this.running = null;
      if (err instanceof ComparisonUnavailableError) throw new HttpError(503, `model comparison is unavailable on this gateway: ${err.message}`);
      throw err;
    }
    const record: ModelComparison = {
      id,
      status: 'running',
      candidate: { name: candidate.name, version: candidate.version },
      active: { name: active.name, version: active.version },
      corrections,
      started_at: new Date().toISOString(),
      finished_at: null,
      verdict: null,
      sets: [],
      error: null,
    };
    const saved = this.save(record);
    void run
      .then(async (out) => {
        await saved;
        await this.save({ ...record, status: 'done', finished_at: new Date().toISOString(), verdict: out.verdict, sets: out.sets });
        await this.redis.hset(this.keys.modelVerdicts, `${candidate.version}>${active.version}`, id);
      })
      .catch(async (err: unknown) => {
        await saved.catch(() => undefined);
        const message = errorMessage(err);
        this.logger.warn('model comparison failed', { comparison_id: id, error: message });
        await this.save({ ...record, status: 'failed', finished_at: new Date().toISOString(), error: message });
      })
      .catch((err: unknown) => this.logger.error('model comparison not recorded', { comparison_id: id, error: errorMessage(err) }))
      .finally(() => {
        this.running = null;
      });
    await saved;
    return record;
  }

  async get(id: string): Promise<ModelComparison | null> {
    const raw = await this.redis.get(this.keys.modelComparison(id));
    if (raw === null) return null;
    const parsed = modelComparisonSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return null;
    const c = parsed.data;
    // A comparison whose gateway stopped mid-way never finishes: say so once its time is up.
    if (c.status === 'running' && Date.parse(c.started_at) + this.settings.timeoutMs + 60_000 < Date.now()) {
      return { ...c, status: 'failed', error: 'the gateway running it stopped before it finished' };
    }
    return c;
  }

  /** The latest finished comparison of this candidate with this active version, if any. */
  async latest(candidateVersion: string, activeVersion: string): Promise<ModelComparison | null> {
    const id = await this.redis.hget(this.keys.modelVerdicts, `${candidateVersion}>${activeVersion}`);
    return id === null ? null : this.get(id);
  }

  /** Kills a running comparison (gateway shutdown). */
  close(): void {
    this.abort.abort();
  }

  private async save(c: ModelComparison): Promise<void> {
    await this.redis.set(this.keys.modelComparison(c.id), JSON.stringify(c), 'EX', KEEP_SECONDS);
  }
}
