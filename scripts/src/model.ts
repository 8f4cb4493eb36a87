/**
 * Model versions: `npm run model -- status | compare <dir> | promote <dir> [--force] | rollback`.
 * The active version lives in Redis (`<prefix>:model:active`); every worker and gateway follows it
 * without a restart. Talks to Redis like `npm run keys` (REDIS_URL, else a running `npm start`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ActiveModel,
  FeedbackReader,
  ModelRegistry,
  type RedisClient,
  type RedisKeys,
  WorkerRegistry,
  loadFallbackModel,
  readModelConfig,
  redisKeys,
} from '@triage/shared';
import { loadOnnxEncoder } from '@triage/worker/dist/inference/onnx-encoder';
import { UsageError, runCli, withCliRedis } from './cli-redis';
import { correctionRows, toCsv } from './feedback-csv';
import { REPO_ROOT } from './stack';

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

async function activeOrDefault(ctx: Ctx): Promise<ActiveModel> {
  const active = await ctx.models.active();
  if (active) return active;
  return { version: readModelConfig(ctx.defaultDir).model_version, dir: ctx.defaultDir, promoted_at: new Date(0).toISOString() };
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

/** Runs `python3 -m training compare` on the candidate's held-back split + corrections since the active model was trained. */
async function compare(ctx: Ctx, candidate: string): Promise<'better' | 'worse' | 'same'> {
  const active = await activeOrDefault(ctx);
  const trainedAt = readModelConfig(active.dir).trained_at;
  const since = typeof trainedAt === 'string' ? Date.parse(trainedAt) : 0;
  const { entries } = await new FeedbackReader(ctx.redis, ctx.keys).since(Number.isNaN(since) ? 0 : since);
  const work = mkdtempSync(join(tmpdir(), 'triage-compare-'));
  try {
    const corrections = join(work, 'corrections.csv');
    const rows = correctionRows(entries);
    writeFileSync(corrections, toCsv(rows));
    ctx.out(`comparing ${candidate} with the active ${active.version} (${active.dir}) on its held-back split + ${rows.length} corrections since ${since ? new Date(since).toISOString() : 'ever'}`);
    const json = join(work, 'comparison.json');
    const args = ['-m', 'training', 'compare', '--candidate', candidate, '--active', active.dir, '--json', json];
    if (rows.length > 0) args.push('--extra', corrections);
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn('python3', args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', fail);
      child.on('exit', done);
    });
    if (code !== 0) throw new Error(`python3 -m training compare exited with ${code}`);
    return (JSON.parse(readFileSync(json, 'utf8')) as { verdict: 'better' | 'worse' | 'same' }).verdict;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Waits until every live worker serves `version` or reported why it cannot. Returns the failures
 * (worker → reason); workers still on another version at the deadline count as failures too.
 */
async function converge(ctx: Ctx, version: string, since: number, timeoutMs: number): Promise<Map<string, string>> {
  const workers = new WorkerRegistry(ctx.redis, ctx.keys);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [live, reports] = await Promise.all([workers.live(), ctx.models.reports()]);
    const failures = new Map<string, string>();
    let waiting = 0;
    for (const w of live) {
      if (w.model_version === version) continue;
      const r = reports[`worker:${w.worker_id}`];
      if (r && r.version === version && !r.ok && Date.parse(r.at) >= since) failures.set(w.worker_id, r.error ?? 'failed to load');
      else waiting += 1;
    }
    if (waiting === 0) {
      ctx.out(`${live.length - failures.size}/${live.length} live workers serve ${version}`);
      return failures;
    }
    if (Date.now() > deadline) {
      for (const w of live) if (w.model_version !== version && !failures.has(w.worker_id)) failures.set(w.worker_id, `still serving ${w.model_version} after ${timeoutMs / 1000} s`);
      return failures;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function switchTo(ctx: Ctx, change: () => Promise<ActiveModel | null>, timeoutMs: number): Promise<void> {
  const before = await ctx.models.active();
  const since = Date.now() - 1_000;
  const active = await change();
  if (!active) throw new Error('there is no previous version to roll back to');
  ctx.out(`active model: ${active.version} (${active.dir})`);
  const failures = await converge(ctx, active.version, since, timeoutMs);
  if (failures.size === 0) return;
  for (const [worker, reason] of failures) ctx.out(`worker ${worker}: ${reason}`);
  // The fleet must not stay split: undo, so every worker keeps serving one version.
  if (before) {
    await ctx.models.promote(before.version, before.dir);
    ctx.out(`restored ${before.version}; workers that failed kept serving it throughout`);
  }
  throw new Error(`${failures.size} worker(s) could not load ${active.version}`);
}

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
    throw new Error(`${dir} cannot be served: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (command === 'compare') {
    await compare(ctx, dir);
    return;
  }
  // The first promotion records what was served before it, so rollback can return to it.
  const active = (await ctx.models.active()) ?? (await ctx.models.promote((await activeOrDefault(ctx)).version, ctx.defaultDir));
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
