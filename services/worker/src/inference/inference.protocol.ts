import type { ModelConfig } from '@triage/shared/model-runtime';
import type { EncoderOutput } from './onnx-encoder';

/** workerData of the inference thread. */
export interface InferenceThreadInit {
  modelDir: string;
  /** Parsed once by the main thread (the fallback's copy), so the thread does not parse it again. */
  config: ModelConfig;
  intraOpThreads: number;
}

/** One `predict` is one onnxruntime run: the client has already chosen the batch. `in-view` runs no model. */
export type ToThread =
  | { type: 'predict'; id: number; texts: string[] }
  | { type: 'in-view'; id: number; text: string; cuts: number[] }
  | { type: 'dispose' };

export type FromThread =
  | { type: 'ready' }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; outputs: EncoderOutput[] }
  | { type: 'in-view'; id: number; count: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'disposed' };
