/**
 * Owns the process's one ONNX session. onnxruntime's run() keeps the calling thread busy, so
 * it lives here rather than on the main thread, which must keep renewing BullMQ job locks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '@triage/shared/model-runtime';
import type { FromThread, InferenceThreadInit, ToThread } from './inference.protocol';
import { type OnnxEncoder, loadOnnxEncoder } from './onnx-encoder';

const port = parentPort;
if (!port) throw new Error('inference.thread must run as a worker_thread');
const send = (message: FromThread) => port.postMessage(message);

async function serve(encoder: OnnxEncoder, message: ToThread): Promise<void> {
  if (message.type === 'dispose') {
    await encoder.dispose();
    send({ type: 'disposed' });
    port!.close();
    return;
  }
  try {
    if (message.type === 'in-view') send({ type: 'in-view', id: message.id, count: await encoder.inView(message.text, message.cuts) });
    else send({ type: 'result', id: message.id, outputs: await encoder.run(message.texts) });
  } catch (err) {
    send({ type: 'error', id: message.id, message: errorMessage(err) });
  }
}

async function main(): Promise<void> {
  const init = workerData as InferenceThreadInit;
  let encoder: OnnxEncoder;
  try {
    encoder = await loadOnnxEncoder(init.modelDir, { config: init.config, intraOpThreads: init.intraOpThreads });
  } catch (err) {
    send({ type: 'load-failed', message: errorMessage(err) });
    port!.close();
    return;
  }
  port!.on('message', (message: ToThread) => void serve(encoder, message));
  send({ type: 'ready' });
}

void main();
