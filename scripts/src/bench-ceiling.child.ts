/**
 * One process of the benchmark's ceiling measurement: the worker's own ONNX encoder (tokenizer +
 * onnxruntime-node, no service, no n-gram blend) on its share of the tickets. The parent starts all
 * processes of a layout, waits until each has loaded, then starts every run at once.
 */
import { errorMessage, readModelConfig } from '@triage/shared';
import { loadOnnxEncoder } from '@triage/worker/dist/inference/onnx-encoder';

export interface CeilingInit {
  modelDir: string;
  threads: number;
  /** Already length-sorted; this process's share. */
  texts: string[];
}
export type ToCeilingChild = { type: 'init'; init: CeilingInit } | { type: 'run'; batch: number } | { type: 'exit' };
export type FromCeilingChild = { type: 'loaded' } | { type: 'done'; batch: number; seconds: number; cpuSeconds: number; runMs: number[] };

const send = (message: FromCeilingChild) => process.send!(message);

async function load(init: CeilingInit): Promise<void> {
  const encoder = await loadOnnxEncoder(init.modelDir, { config: readModelConfig(init.modelDir), intraOpThreads: init.threads });
  // a few runs so onnxruntime's arena and the tokenizer are warm before anything is timed
  for (let i = 0; i < Math.min(8, init.texts.length); i++) await encoder.run([init.texts[i]!]);
  process.on('message', (message: ToCeilingChild) => {
    if (message.type === 'init') return;
    if (message.type === 'exit') {
      void encoder.dispose().then(() => process.exit(0));
      return;
    }
    void (async () => {
      const runMs: number[] = [];
      const started = performance.now();
      const cpu = process.cpuUsage();
      for (let i = 0; i < init.texts.length; i += message.batch) {
        const t0 = performance.now();
        await encoder.run(init.texts.slice(i, i + message.batch));
        runMs.push(performance.now() - t0);
      }
      const used = process.cpuUsage(cpu);
      send({ type: 'done', batch: message.batch, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, runMs });
    })();
  });
  send({ type: 'loaded' });
}

process.once('message', (message: ToCeilingChild) => {
  if (message.type !== 'init') return;
  load(message.init).catch((err: unknown) => {
    console.error(errorMessage(err));
    process.exit(1);
  });
});
