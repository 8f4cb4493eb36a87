import type { ModelConfig, TriagePrediction } from '@triage/shared';

/** workerData of the inference thread. */
export interface InferenceThreadInit {
  modelDir: string;
  intraOpThreads: number;
}

export type ToThread = { type: 'predict'; id: number; texts: string[] } | { type: 'dispose' };

export type FromThread =
  | { type: 'ready'; modelVersion: string; config: ModelConfig }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; predictions: TriagePrediction[] }
  | { type: 'error'; id: number; message: string }
  | { type: 'disposed' };
