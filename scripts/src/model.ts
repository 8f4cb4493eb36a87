/**
 * Model versions: `npm run model -- status | compare <dir> | promote <dir> [--force] | rollback`.
 * The active version lives in Redis (`<prefix>:model:active`); every worker and gateway follows it
 * without a restart. Talks to Redis like `npm run keys` (REDIS_URL, else a running `npm start`).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ModelRegistry,
  type RedisClient,
  type RedisKeys,
  WorkerRegistry,
  activeOrDefault,
  compareModels,
  loadFallbackModel,
  errorMessage,
  redisKeys,
  switchModel,
} from '@triage/shared';
import { loadOnnxEncoder } from '@triage/worker/dist/inference/onnx-encoder';
import { UsageError, runCli, withCliRedis } from './cli-redis';

const USAGE = `usage:
  npm run model -- status
  npm run model -- compare <model dir>
  npm run model -- promote <model dir> [--force: skip the comparison] [--timeout <seconds>]
  npm run model -- rollback [--timeout <seconds>]`;

interface Ctx {
  redis: RedisClient;
  keys: RedisKeys;
  models: ModelRegistry;
  /** What workers serve until a version is promoted (MODEL_DIR). */
  defaultDir: string;
  out: (line: string) => void;
}

/** Fails with the reason when `dir` is not a model the workers could load. */
async function checkLoads(dir: string): Promise<string> {
  const fallback = loadFallbackModel(dir);
  if (!fallback.config) throw new Error(`${dir}/config.json is missing or invalid`);
  const encoder = await loadOnnxEncoder(dir, { config: fallback.config });
  try {
    const [out] = await encoder.run(['Warm-up: my invoice was charged twice.']);
    if (!out || out.probs.length !== fallback.config.labels.length) throw new Error(`${dir}: the ONNX graph's queue_probs do not match config.json labels`);
  } finally {
    await encoder.dispose();
  }
  return fallback.modelVersion;
}

/** `python3 -m training compare` of the candidate with the active model; prints its table. */
async function compare(ctx: Ctx, candidate: string): Promise<'better' | 'worse' | 'same'> {
  const active = await activeOrDefault(ctx.models, ctx.defaultDir);
  ctx.out(`comparing ${candidate} with the active ${active.version} (${active.dir})`);
  const result = await compareModels({
    redis: ctx.redis,
    keys: ctx.keys,
    candidateDir: candidate,
    activeDir: active.dir,
    python: 'python3',
    timeoutMs: 3_600_000,
    onStarted: (n) => ctx.out(`on its held-back split + ${n} corrections since the active model was trained`),
    out: (chunk) => process.stdout.write(chunk),
  });
  return result.verdict;
}

const switchTo = (ctx: Ctx, change: Parameters<typeof switchModel>[1], timeoutMs: number) =>
  switchModel({ redis: ctx.redis, keys: ctx.keys, models: ctx.models, timeoutMs, out: ctx.out }, change);

async function run(ctx: Ctx, argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { force: { type: 'boolean' }, timeout: { type: 'string' } },
  });
  const timeoutMs = Number(values.timeout ?? 120) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout takes a number of seconds');
  if (command === 'status') {
    const active = await ctx.models.active();
    ctx.out(active ? `active: ${active.version} (${active.dir}), promoted ${active.promoted_at}${active.previous_version ? `; previous ${active.previous_version} (${active.previous_dir})` : ''}` : `active: none promoted yet (workers serve their MODEL_DIR)`);
    for (const w of await new WorkerRegistry(ctx.redis, ctx.keys).live()) ctx.out(`worker ${w.worker_id}: ${w.model_version}`);
    for (const [id, r] of Object.entries(await ctx.models.reports())) if (!r.ok) ctx.out(`${id}: failed to load ${r.version} at ${r.at}: ${r.error}`);
    return;
  }
  if (command === 'rollback') {
    await switchTo(ctx, () => ctx.models.rollback(), timeoutMs);
    return;
  }
  if (command !== 'compare' && command !== 'promote') throw new UsageError(command === undefined ? 'no command' : `unknown command "${command}"`);
  if (positionals.length !== 1) throw new UsageError(`${command} takes one model directory`);
  const dir = resolve(positionals[0]!);
  const version = await checkLoads(dir).catch((err: unknown) => {
    throw new Error(`${dir} cannot be served: ${errorMessage(err)}`);
  });
  if (command === 'compare') {
    await compare(ctx, dir);
    return;
  }
  // The first promotion records what was served before it, so rollback can return to it.
  const active = (await ctx.models.active()) ?? (await ctx.models.promote((await activeOrDefault(ctx.models, ctx.defaultDir)).version, ctx.defaultDir));
  if (active.version === version) {
    ctx.out(`${version} is already active`);
    return;
  }
  // --force promotes without the comparison (an emergency fix, or a rollback to a known version).
  if (!values.force && (await compare(ctx, dir)) === 'worse') {
    throw new Error(`refusing to promote ${version}: it is worse than the active model (--force promotes it anyway)`);
  }
  await switchTo(ctx, () => ctx.models.promote(version, dir), timeoutMs);
}

runCli(
  () =>
    withCliRedis((redis, config) => {
      const keys = redisKeys(config.REDIS_PREFIX);
      return run({ redis, keys, models: new ModelRegistry(redis, keys), defaultDir: config.MODEL_DIR, out: (line) => process.stdout.write(`${line}\n`) }, process.argv.slice(2));
    }),
  USAGE,
);
