import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import type { DriftResponse, StatsResponse, TicketResponse } from '@triage/shared';
import { TriageClient } from '../scripts/src/client';
import { freePort } from '../scripts/src/embedded-redis';
import { type Stack, startStack } from '../scripts/src/stack';
import { testRedisUrl, uniquePrefix } from './support/test-redis';
import { submitWhile } from './support/tickets';
import { REPO_ROOT } from './support/worker';

/**
 * The learning loop end to end, with real processes (Redis, gateway, two workers) and the tiny model
 * pytest trains: agents consistently relabel one kind of ticket, the corrections are exported,
 * `train --quick` makes a new version, `model promote` compares and swaps it in while tickets flow,
 * and the new version's predictions and live accuracy show the change. Drift is ≈ 0 on the model's
 * own training rows and ≥ 0.25 once the shifted tickets arrive.
 */
jest.setTimeout(600_000);

const run = promisify(execFile);
const prefix = uniquePrefix('loop');
const work = mkdtempSync(join(tmpdir(), 'triage-loop-'));
const v1Dir = join(work, 'v1');
const v2Dir = join(work, 'v2');
const env = { ...process.env, REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, MODEL_DIR: v1Dir, PYTHONPATH: REPO_ROOT };
const node = (script: string, ...args: string[]) => run(process.execPath, [join(REPO_ROOT, 'scripts', 'dist', script), ...args], { cwd: REPO_ROOT, env });
const python = (...args: string[]) => run('python3', args, { cwd: REPO_ROOT, env, maxBuffer: 64 * 1024 * 1024 });

/** A made-up product the shipped data never mentions: its tickets all belong to one queue. */
const zorbulator = (i: number) => ({ subject: `Zorbulator issue ${i}`, body: `The zorbulator widget number ${i} keeps blinking after the update.` });
const RELABELLED_TO = 'Human Resources';
const SAMPLE_ROWS = 300;

let stack: Stack;
let client: TriageClient;
let v1: string;

const get = async <T>(path: string): Promise<T> => (await (await fetch(`${stack.url}${path}`)).json()) as T;
const settledAll = (ids: string[]) => Promise.all(ids.map((id) => client.settled(id, 50)));

async function correct(ticket: TicketResponse): Promise<void> {
  const res = await fetch(`${stack.url}/v2/tickets/${ticket.ticket_id}/feedback`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Agent-Id': 'alice' },
    body: JSON.stringify({ queue: RELABELLED_TO }),
  });
  if (res.status !== 201) throw new Error(`feedback on ${ticket.ticket_id} → ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  await python(join('tests', 'support', 'tiny-model.py'), v1Dir, work, String(SAMPLE_ROWS));
  v1 = (JSON.parse(readFileSync(join(v1Dir, 'config.json'), 'utf8')) as { model_version: string }).model_version;
  stack = await startStack({
    redisUrl: testRedisUrl(),
    port: await freePort(),
    workers: 2,
    // A busy CI machine must not send the encoder to its n-gram fallback: that would shift the predictions.
    env: { REDIS_PREFIX: prefix, MODEL_DIR: v1Dir, LOG_LEVEL: 'warn', MODEL_POLL_INTERVAL_MS: '500', AUTH: 'off', DRIFT_MIN_SAMPLES: '100', ENCODER_LATENCY_BUDGET_MS: '60000' },
    quiet: true,
  });
  client = new TriageClient(stack.url);
});
afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

it('corrections → export → quick retrain → compare → promote while tickets flow → new predictions, live accuracy and drift', async () => {
  // 1. The model's own training rows: every drift signal stable.
  const rowsOf = (file: string) => parse<{ subject: string; body: string }>(readFileSync(join(work, file), 'utf8'), { columns: true });
  const sample = rowsOf('sample.csv');
  const unescape = (s: string) => s.replace(/\\r\\n/g, '\n').replace(/\\n/g, '\n');
  const sampleIds: string[] = [];
  for (const row of rowsOf('train-rows.csv')) sampleIds.push(await client.submit({ ...(row.subject ? { subject: unescape(row.subject) } : {}), body: unescape(row.body) }));
  const sampleTickets = await settledAll(sampleIds);
  const stable = await get<DriftResponse>('/v2/monitoring/drift?window=1h');
  expect(stable.model_version).toBe(v1);
  expect(stable.signals.map((s) => ({ signal: s.signal, stable: s.psi !== null && s.psi < 0.1, psi: s.psi }))).toEqual(
    ['predicted_queue', 'urgency', 'input_tokens'].map((signal) => ({ signal, stable: true, psi: expect.any(Number) })),
  );
  expect(new Set(sampleTickets.map((t) => t.model_used))).toEqual(new Set(['encoder']));

  // 2. A shifted stream (one made-up product): drift acts; agents move every one of them to one queue.
  const shiftedIds: string[] = [];
  for (let i = 0; i < 150; i++) shiftedIds.push(await client.submit(zorbulator(i)));
  const shifted = await settledAll(shiftedIds);
  const drift = await get<DriftResponse>('/v2/monitoring/drift?window=1h');
  expect(Math.max(...drift.signals.map((s) => s.psi ?? 0))).toBeGreaterThanOrEqual(0.25);
  const keptBefore = shifted.filter((t) => t.category === RELABELLED_TO).length / shifted.length;
  expect(keptBefore).toBeLessThan(0.5);
  for (const t of shifted) await correct(t);

  // 3. Export, quick retrain on the model's data + the corrections.
  const corrections = join(work, 'corrections.csv');
  await node('feedback-export.js', '--out', corrections);
  const exported = parse<Record<string, string>>(readFileSync(corrections, 'utf8'), { columns: true });
  expect(exported).toHaveLength(150);
  expect(new Set(exported.map((r) => r.queue))).toEqual(new Set([RELABELLED_TO]));
  await python('-m', 'training', 'train', '--quick', '--data', join(work, 'sample.csv'), '--data', corrections, '--from', v1Dir, '--out', v2Dir,
    '--work-dir', join(work, 'cache'), '--threads', '1');
  const v2 = (JSON.parse(readFileSync(join(v2Dir, 'config.json'), 'utf8')) as { model_version: string }).model_version;
  expect(v2).not.toBe(v1);

  // 4. Promote (its comparison must find the candidate better: no --force) while tickets keep flowing.
  const promotion = node('model.js', 'promote', v2Dir, '--timeout', '120');
  const flowing = await submitWhile(client, promotion, sample.slice(0, 40).map((r) => unescape(r.body)));
  const { stdout } = await promotion;
  expect(stdout).toMatch(/verdict: the candidate is BETTER/);
  expect(stdout).toMatch(new RegExp(`active model: ${v2}`));
  expect(stdout).toMatch(/2\/2 live workers serve/);
  const during = await settledAll(flowing);
  expect(during.filter((t) => t.status !== 'processed')).toEqual([]);
  for (const t of during) expect([v1, v2]).toContain(t.model_version);

  // 5. The new version routes the relabelled kind of ticket to its new queue; agents keep those predictions.
  const fresh = await settledAll(await Promise.all(Array.from({ length: 20 }, (_, i) => client.submit(zorbulator(1000 + i)))));
  for (const t of fresh) expect(t.model_version).toBe(v2);
  expect(fresh.filter((t) => t.category === RELABELLED_TO).length).toBeGreaterThanOrEqual(18);
  for (const t of fresh) await correct(t);
  const { live_accuracy: live } = await get<StatsResponse>('/v2/stats?window=1h');
  expect(live.by_model_version[v1]!.accuracy!).toBeCloseTo(keptBefore, 6);
  expect(live.by_model_version[v2]!.accuracy!).toBeGreaterThanOrEqual(0.9);
});
