import type { ModelConfig } from './model-config';

export interface QueueProbability {
  category: string;
  probability: number;
}

export interface TriagePrediction {
  category: string;
  confidence: number;
  top3: QueueProbability[];
  /** The whole served distribution, in the model's label order. */
  probabilities: number[];
  /**
   * The encoder/n-gram blend before its confidence map (when config.json has one), in label order: the
   * distribution explanations split into an encoder and an n-gram part.
   */
  blended?: number[];
  urgency: number;
  embedding: number[];
  modelVersion: string;
  /** Encoder input length in tokens after truncation (drift monitoring). */
  inputTokens?: number;
}

/** The encoder as the worker serves it (ONNX on an inference thread, blended with the n-gram model). */
export interface TriageModel {
  readonly modelVersion: string;
  readonly labels: readonly string[];
  readonly config: ModelConfig;
  /** An aborted `signal` means the caller stopped waiting: texts not yet computed are dropped. */
  predict(texts: string[], signal?: AbortSignal): Promise<TriagePrediction[]>;
  /**
   * How many of `cuts` (ascending offsets into `text`, each the end of a word) close a prefix the encoder
   * reads whole; the text past the last of them is partly or wholly cut off by max_length.
   */
  inView(text: string, cuts: readonly number[]): Promise<number>;
  dispose(): Promise<void>;
}

/** Ranks a full probability vector into the public answer's category, confidence and top 3 (and keeps the vector). */
export function rankQueues(
  probs: readonly number[],
  labels: readonly string[],
): Pick<TriagePrediction, 'category' | 'confidence' | 'top3' | 'probabilities'> {
  const ranked = probs.map((probability, k) => ({ category: labels[k] as string, probability })).sort((a, b) => b.probability - a.probability);
  const best = ranked[0] as QueueProbability;
  return { category: best.category, confidence: best.probability, top3: ranked.slice(0, 3), probabilities: probs.slice() };
}
