/**
 * Model versions as `npm run model` and the gateway's /v2/models share them: the bundles under a
 * models root with their card figures, the comparison of a candidate with the active model
 * (`python -m training compare` in a child process), and a promotion or rollback that waits until
 * every live worker serves the new version — or undoes itself, so the fleet never stays split.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { RedisClient } from '../redis-connection';
import type { RedisKeys } from '../queues';
import { type ModelCardFigures, type ModelScore, type ComparisonVerdict, modelNameSchema, modelScoreSchema } from '../schemas/model.schema';
import { FeedbackReader } from '../store/feedback-reader';
import { correctionRows, toCsv } from '../store/feedback-csv';
import type { ActiveModel, ModelRegistry } from '../store/model-registry';
import { WorkerRegistry } from '../store/worker-registry';
import { readModelConfig } from './model-config';

/** Where `python -m training` runs: the repository root (this file is <root>/shared/{src,dist}/model/). */
export const TRAINING_ROOT = resolve(__dirname, '..', '..', '..');

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The card figures of a bundle's metrics.json (train, refit and quick retrains write the same `served` block). */
export function modelCardOf(dir: string): ModelCardFigures {
  let m: Record<string, unknown> = {};
  try {
    m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // a bundle without a card still lists, with no figures
  }
  const served = (m.served ?? {}) as Record<string, unknown>;
  const alert = ((m.alert as Record<string, unknown> | undefined)?.test ?? {}) as Record<string, unknown>;
  const split = ((m.data as Record<string, unknown> | undefined)?.split ?? {}) as Record<string, unknown>;
  let trainedAt: string | null;
  try {
    const t = readModelConfig(dir).trained_at;
    trainedAt = typeof t === 'string' ? t : null;
  } catch {
    trainedAt = null;
  }
  return {
    kind: typeof m.kind === 'string' ? m.kind : null,
    trained_at: trainedAt,
    test_rows: num(split.test),
    accuracy: num(served.accuracy),
    macro_f1: num(served.macro_f1),
    alert_precision: num(alert.precision),
    alert_recall: num(alert.recall),
  };
}

export interface ModelBundle {
  /** Directory name under the models root; null for a directory outside it. */
  name: string | null;
  dir: string;
  version: string;
}

/** The bundle's name under `root`, or null when `dir` lies outside it. */
export function nameUnder(root: string, dir: string): string | null {
  const rel = relative(realOrSelf(root), realOrSelf(dir));
  return rel && !rel.startsWith('..') && !rel.includes(sep) ? rel : null;
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Every loadable-looking bundle (a valid config.json) directly under `root`, by name. */
export function listModels(root: string): ModelBundle[] {
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && modelNameSchema.safeParse(e.name).success)
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const dir = join(root, name);
    try {
      return [{ name, dir, version: readModelConfig(dir).model_version }];
    } catch {
      return [];
    }
  });
}

/**
 * The bundle a client named: a directory directly under `root` (its real path too, so a symlink
 * cannot lead outside), or a version one of those bundles holds. Null when there is none.
 */
export function findModel(root: string, ref: string): ModelBundle | null {
  if (ref.startsWith('sha256:')) return listModels(root).find((m) => m.version === ref) ?? null;
  if (!modelNameSchema.safeParse(ref).success) return null;
  const dir = join(root, ref);
  if (!existsSync(join(dir, 'config.json')) || nameUnder(root, dir) !== ref) return null;
  return { name: ref, dir, version: readModelConfig(dir).model_version };
}

/** The active model, or what workers serve before any promotion (their MODEL_DIR). */
export async function activeOrDefault(models: ModelRegistry, defaultDir: string): Promise<ActiveModel & { promoted: boolean }> {
  const active = await models.active();
  if (active) return { ...active, promoted: true };
  return { version: readModelConfig(defaultDir).model_version, dir: defaultDir, promoted_at: new Date(0).toISOString(), promoted: false };
}

export class ComparisonUnavailableError extends Error {
  override readonly name = 'ComparisonUnavailableError';
}

export interface ComparisonOutput {
  verdict: ComparisonVerdict;
  sets: Array<{ name: string; candidate: ModelScore; active: ModelScore }>;
}

export interface CompareOptions {
  redis: RedisClient;
  keys: RedisKeys;
  candidateDir: string;
  activeDir: string;
  /** python executable (with numpy, onnxruntime, the training package's requirements). */
  python: string;
  timeoutMs: number;
  /** Told once the child runs (after its spawn succeeded) with the number of corrections compared. */
  onStarted?: (corrections: number) => void;
  /** The child's stdout/stderr lines (the CLI prints them). */
  out?: (chunk: string) => void;
  /** Aborting kills the child (a gateway shutting down). */
  signal?: AbortSignal;
}

/**
 * Scores the candidate against the active model on the candidate's held-back split plus the
 * corrections agents made since the active model was trained, in `python -m training compare`
 * (a child process: the event loop never waits for it). ENOENT → ComparisonUnavailableError.
 */
export async function compareModels(opts: CompareOptions): Promise<ComparisonOutput> {
  const trainedAt = readModelConfig(opts.activeDir).trained_at;
  const since = typeof trainedAt === 'string' ? Date.parse(trainedAt) : 0;
  const { entries } = await new FeedbackReader(opts.redis, opts.keys).since(Number.isNaN(since) ? 0 : since);
  const rows = correctionRows(entries);
  const work = mkdtempSync(join(tmpdir(), 'triage-compare-'));
  try {
    const corrections = join(work, 'corrections.csv');
    writeFileSync(corrections, toCsv(rows));
    const json = join(work, 'comparison.json');
    const args = ['-m', 'training', 'compare', '--candidate', opts.candidateDir, '--active', opts.activeDir, '--json', json];
    if (rows.length > 0) args.push('--extra', corrections);
    const tail: string[] = [];
    await new Promise<void>((done, fail) => {
      const child = spawn(opts.python, args, { cwd: TRAINING_ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGKILL' } : {}) });
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
      const keep = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        opts.out?.(text);
        tail.push(text);
        if (tail.length > 20) tail.shift();
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('spawn', () => opts.onStarted?.(rows.length));
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(err.code === 'ENOENT' ? new ComparisonUnavailableError(`${opts.python} is not installed here; compare with npm run model -- compare where the training package runs`) : err);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return done();
        const last = tail.join('').trim().split('\n').slice(-3).join(' | ');
        if (/No module named/.test(last)) return fail(new ComparisonUnavailableError(`the training package cannot run here (${last})`));
        fail(new Error(signal === 'SIGKILL' ? `the comparison took longer than ${opts.timeoutMs / 1000} s` : `python -m training compare exited with ${code}: ${last}`));
      });
    });
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { verdict: ComparisonVerdict; sets: Record<string, { candidate: unknown; active: unknown }> };
    return {
      verdict: doc.verdict,
      sets: Object.entries(doc.sets).map(([name, s]) => ({ name, candidate: modelScoreSchema.parse(s.candidate), active: modelScoreSchema.parse(s.active) })),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface SwitchOptions {
  redis: RedisClient;
  keys: RedisKeys;
  models: ModelRegistry;
  timeoutMs: number;
  out?: (line: string) => void;
}

/**
 * A switch some live workers could not follow; it was undone (`restored` names what serves again) unless
 * another switch came in the meantime. `aftermath` says which, in words for the one who asked.
 */
export class SwitchFailedError extends Error {
  override readonly name = 'SwitchFailedError';
  constructor(
    message: string,
    readonly failures: Map<string, string>,
    readonly restored: string | null,
    readonly aftermath = '',
  ) {
    super(message);
  }
}

const readFleet = async (workers: WorkerRegistry, models: ModelRegistry) => {
  const [live, reports] = await Promise.all([workers.live(), models.reports()]);
  return { live, reports };
};

/**
 * Waits until every live worker serves `version` or reported why it cannot. Returns the failures
 * (worker → reason); workers still on another version at the deadline count as failures too.
 */
async function converge(opts: SwitchOptions, version: string, since: number): Promise<{ failures: Map<string, string>; live: number }> {
  const workers = new WorkerRegistry(opts.redis, opts.keys);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    let read: Awaited<ReturnType<typeof readFleet>>;
    try {
      read = await readFleet(workers, opts.models);
    } catch (err) {
      // a slow or briefly unreachable Redis must not end the wait with the switch half done
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const { live, reports } = read;
    const failures = new Map<string, string>();
    let waiting = 0;
    for (const w of live) {
      if (w.model_version === version) continue;
      const r = reports[`worker:${w.worker_id}`];
      if (r && r.version === version && !r.ok && Date.parse(r.at) >= since) failures.set(w.worker_id, r.error ?? 'failed to load');
      else waiting += 1;
    }
    if (waiting === 0) return { failures, live: live.length };
    if (Date.now() > deadline) {
      for (const w of live) if (w.model_version !== version && !failures.has(w.worker_id)) failures.set(w.worker_id, `still serving ${w.model_version} after ${opts.timeoutMs / 1000} s`);
      return { failures, live: live.length };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Applies `change` (a promotion or a rollback) and waits for the live workers to follow; undoes it
 * when some cannot, so every worker keeps serving one version. → the new active model and how
 * many workers serve it.
 */
export async function switchModel(opts: SwitchOptions, change: () => Promise<ActiveModel | null>): Promise<{ active: ActiveModel; workers: number }> {
  const before = await opts.models.active();
  const since = Date.now() - 1_000;
  const active = await change();
  if (!active) throw new SwitchFailedError('there is no previous version to roll back to', new Map(), null);
  opts.out?.(`active model: ${active.version} (${active.dir})`);
  let converged: Awaited<ReturnType<typeof converge>>;
  try {
    converged = await converge(opts, active.version, since);
  } catch (err) {
    // Redis stayed unreachable past the deadline: undo if it lets us, so the fleet is not left split
    if (before) await opts.models.restore(before, active).catch(() => undefined);
    throw err;
  }
  const { failures, live } = converged;
  if (failures.size === 0) {
    opts.out?.(`${live}/${live} live workers serve ${active.version}`);
    return { active, workers: live };
  }
  for (const [worker, reason] of failures) opts.out?.(`worker ${worker}: ${reason}`);
  const message = `${failures.size} worker(s) could not load ${active.version}`;
  if (!before) throw new SwitchFailedError(message, failures, null, 'nothing was active before');
  // the record as it was, previous included: promoting `before` again would make the failed version previous
  if (await opts.models.restore(before, active)) {
    opts.out?.(`restored ${before.version}; workers that failed kept serving it throughout`);
    throw new SwitchFailedError(message, failures, before.version, `${before.version} is active again`);
  }
  const now = await opts.models.active();
  const aftermath = `not undone: ${now?.version ?? 'another version'} was made active meanwhile and stays active`;
  opts.out?.(aftermath);
  throw new SwitchFailedError(message, failures, null, aftermath);
}
