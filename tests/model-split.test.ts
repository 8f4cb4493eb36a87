import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from './support/worker';
import { type ServiceProcess, spawnService } from './support/service-process';

/** The native libraries a process has mapped (Linux /proc): what it really loaded, not what it imports. */
function nativeModules(pid: number): string[] {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  return [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter((path) => /onnxruntime|tokenizers/.test(path)))];
}

const describeLinux = process.platform === 'linux' ? describe : describe.skip;

describeLinux('the model code split: only the worker loads onnxruntime and tokenizers', () => {
  const processes: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });

  it('a running gateway (with its /v1 n-gram model loaded) has neither library mapped', async () => {
    const gateway = spawnService('services/gateway/dist/main.js', { PORT: '0', HOST: '127.0.0.1' });
    processes.push(gateway);
    await gateway.logged('gateway listening');
    expect(nativeModules(gateway.child.pid!)).toEqual([]);
  }, 30_000);

  it('a running worker has onnxruntime (so the check above can fail); the shipped Unigram tokenizer is read without the tokenizers binding', async () => {
    const worker = spawnService('services/worker/dist/main.js', { WORKER_CONCURRENCY: '1', WORKER_METRICS_PORT: '0' });
    processes.push(worker);
    await worker.logged('worker ready');
    const loaded = nativeModules(worker.child.pid!).join('\n');
    expect(loaded).toMatch(/onnxruntime/);
    expect(loaded).not.toMatch(/tokenizers/);
  }, 60_000);

  it("the worker's inference thread loads onnxruntime but not the schema, Redis, queue or logging libraries", async () => {
    // A worker_thread is its own isolate: whatever it requires is loaded a second time in the process.
    const script = join(REPO_ROOT, 'services/worker/dist/inference/inference.thread.js');
    const probe = `const { parentPort } = require('node:worker_threads'); require(${JSON.stringify(script)});
      parentPort.postMessage({ type: 'modules', modules: Object.keys(require.cache) });`;
    const thread = new Worker(probe, { eval: true, workerData: { modelDir: join(REPO_ROOT, 'no-such-model-dir'), config: {}, intraOpThreads: 1 } });
    const modules = await new Promise<string[]>((resolve, reject) => {
      thread.on('message', (m: { type: string; modules?: string[] }) => m.type === 'modules' && resolve(m.modules!));
      thread.on('error', reject);
    });
    await thread.terminate();
    expect(modules.some((m) => m.includes('/node_modules/onnxruntime-node/'))).toBe(true);
    expect(modules.filter((m) => /\/node_modules\/(zod|ioredis|winston|bullmq)\//.test(m))).toEqual([]);
  });
});
