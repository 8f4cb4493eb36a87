import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testRedisUrl, uniquePrefix } from './support/test-redis';
import { REPO_ROOT, modelDir } from './support/worker';

/** The native libraries a process has mapped (Linux /proc): what it really loaded, not what it imports. */
function nativeModules(pid: number): string[] {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  return [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter((path) => /onnxruntime|tokenizers/.test(path)))];
}

/** Starts a compiled service and resolves once it logs `readyMessage`; the jest timeout bounds the wait. */
function startService(script: string, env: Record<string, string>, readyMessage: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, script)], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: testRedisUrl(), REDIS_PREFIX: uniquePrefix('split'), MODEL_DIR: modelDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyMessage)) resolve(child);
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`${script} exited (${code}) before logging "${readyMessage}":\n${output}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const describeLinux = process.platform === 'linux' ? describe : describe.skip;

describeLinux('the model code split: only the worker loads onnxruntime and tokenizers', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map(stop));
  });

  it('a running gateway (with its /v1 n-gram model loaded) has neither library mapped', async () => {
    const gateway = await startService('services/gateway/dist/main.js', { PORT: '0', HOST: '127.0.0.1' }, 'gateway listening');
    children.push(gateway);
    expect(nativeModules(gateway.pid!)).toEqual([]);
  }, 30_000);

  it('a running worker has both (so the check above can fail)', async () => {
    const worker = await startService('services/worker/dist/main.js', { WORKER_CONCURRENCY: '1' }, 'worker ready');
    children.push(worker);
    const loaded = nativeModules(worker.pid!).join('\n');
    expect(loaded).toMatch(/onnxruntime/);
    expect(loaded).toMatch(/tokenizers/);
  }, 60_000);
});
