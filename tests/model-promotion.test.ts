import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ModelRegistry, WorkerRegistry, redisKeys } from '@triage/shared';
import { TriageClient } from '../scripts/src/client';
import { freePort } from '../scripts/src/embedded-redis';
import { type Stack, startStack } from '../scripts/src/stack';
import { loadSampleTickets } from '../scripts/src/ticket-samples';
import { eventually, plainRedis, testRedisUrl, uniquePrefix } from './support/test-redis';
import { submitWhile } from './support/tickets';
import { REPO_ROOT, modelDir } from './support/worker';

/**
 * Promotion and rollback through `npm run model` against real processes (gateway + two workers):
 * tickets keep flowing, none is lost or failed, and every result names the version that made it.
 */
const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'scripts', 'dist', 'model.js');
const prefix = uniquePrefix('promote');
const keys = redisKeys(prefix);
const work = mkdtempSync(join(tmpdir(), 'triage-promote-'));
const redis = plainRedis();
const models = new ModelRegistry(redis, keys);
let stack: Stack;
let client: TriageClient;
let v1: string;

/** The shipped bundle under another version label: a distinct version the workers can load. */
function relabelledCopy(name: string, version: string, corrupt = false): string {
  const dir = join(work, name);
  cpSync(modelDir(), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_version: version }));
  if (corrupt) writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), 'not an onnx graph');
  return dir;
}

const cli = (...args: string[]) =>
  run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, MODEL_DIR: modelDir() } });

beforeAll(async () => {
  v1 = (JSON.parse(readFileSync(join(modelDir(), 'config.json'), 'utf8')) as { model_version: string }).model_version;
  stack = await startStack({
    redisUrl: testRedisUrl(),
    port: await freePort(),
    workers: 2,
    env: { REDIS_PREFIX: prefix, MODEL_DIR: modelDir(), LOG_LEVEL: 'warn', MODEL_POLL_INTERVAL_MS: '500', AUTH: 'off' },
    quiet: true,
  });
  client = new TriageClient(stack.url);
  await eventually('two live workers', async () => ((await new WorkerRegistry(redis, keys).live()).length === 2 ? true : undefined), { timeoutMs: 100_000 });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

async function workerVersions(): Promise<string[]> {
  return (await new WorkerRegistry(redis, keys).live()).map((w) => w.model_version).sort();
}

/** Submits sample tickets one after another until `stop` settles; returns their ids. */
const flow = (stop: Promise<unknown>) => submitWhile(client, stop, loadSampleTickets(40).tickets.map((t) => t.body));

async function settled(ids: string[]) {
  return Promise.all(
    ids.map((id) =>
      eventually(`ticket ${id} processed or failed`, async () => {
        const t = await client.get(id);
        return t.status === 'processed' || t.status === 'failed' ? t : undefined;
      }, { timeoutMs: 90_000 }),
    ),
  );
}

describe('npm run model', () => {
  it('promotes a version while tickets flow: every worker and the gateway switch, no ticket is lost or failed', async () => {
    const v2 = 'sha256:promoted-copy1';
    const dir = relabelledCopy('v2', v2);
    const promotion = cli('promote', dir, '--force', '--timeout', '90');
    const ids = await flow(promotion);
    const { stdout } = await promotion.catch((err: { stdout?: string; message: string }) => {
      throw new Error(`${err.message}\n${err.stdout ?? ''}`);
    });
    expect(stdout).toMatch(new RegExp(`active model: ${v2}`));
    expect(stdout).toMatch(/2\/2 live workers serve/);
    expect(await workerVersions()).toEqual([v2, v2]);
    expect(await models.active()).toMatchObject({ version: v2, dir, previous_version: v1 });

    const results = await settled(ids);
    expect(results.filter((t) => t.status !== 'processed')).toEqual([]);
    const versions = new Set(results.map((t) => t.model_version));
    expect([...versions].every((v) => v === v1 || v === v2)).toBe(true);
    // Tickets sent after the switch are all answered by the new version.
    const after = await settled([await client.submit({ body: 'My invoice shows a double charge for March.' })]);
    expect(after[0]!.model_version).toBe(v2);
    // The gateway's /v1 n-gram model followed too.
    const health = await eventually(`the gateway reporting ${v2}`, async () => {
      const h = (await (await fetch(`${stack.url}/health`)).json()) as { models?: { m1_model_version?: string } } & Record<string, unknown>;
      return JSON.stringify(h).includes(v2) ? h : undefined;
    }, { timeoutMs: 60_000 });
    expect(JSON.stringify(health)).toContain(v2);
  }, 180_000);

  it('keeps the old version serving when a candidate fails to load, and says why', async () => {
    const broken = relabelledCopy('broken', 'sha256:broken-copy', true);
    const before = await workerVersions();
    await expect(cli('promote', broken, '--force')).rejects.toMatchObject({ stderr: expect.stringMatching(/cannot be served/) });
    expect(await workerVersions()).toEqual(before);

    // Promoted behind the CLI's back (no local check): the workers refuse it and report why.
    await models.promote('sha256:broken-copy', broken);
    const reports = await eventually('both workers reporting they failed to load the broken copy', async () => {
      const r = await models.reports();
      const failed = Object.entries(r).filter(([id, rep]) => id.startsWith('worker:') && rep.version === 'sha256:broken-copy' && !rep.ok);
      return failed.length === 2 ? failed : undefined;
    }, { timeoutMs: 60_000 });
    for (const [, rep] of reports) expect(rep.error).toMatch(/onnx|protobuf|load/i);
    expect(await workerVersions()).toEqual(before);
    const ok = await settled([await client.submit({ body: 'Still triaged while the broken version is announced.' })]);
    expect(ok[0]).toMatchObject({ status: 'processed', model_version: before[0] });
    await models.promote(before[0]!, join(work, 'v2'));
  }, 120_000);

  it('rolls back to the previous version the same way', async () => {
    const v3 = 'sha256:promoted-copy3';
    await cli('promote', relabelledCopy('v3', v3), '--force');
    expect(await workerVersions()).toEqual([v3, v3]);
    const { stdout } = await cli('rollback');
    const active = await models.active();
    expect(stdout).toMatch(/2\/2 live workers serve/);
    expect(active?.previous_version).toBe(v3);
    expect(await workerVersions()).toEqual([active!.version, active!.version]);
    const status = await cli('status');
    expect(status.stdout).toMatch(/active: /);
  }, 180_000);
});
