/**
 * Turns the encoder's raw output into the served prediction, blending in the n-gram model when the
 * bundle's config.json asks for it. Runs on the worker's main thread with the same n-gram instance
 * the fallback serves, so a worker holds one copy of it.
 */
import { type ModelConfig, ModelLoadError, type NgramModel, type TriagePrediction, rankQueues } from '@triage/shared';
import type { EncoderOutput } from './onnx-encoder';

type NgramScores = ReturnType<NgramModel['predict']>;

/**
 * Two halves so that the caller can compute the n-gram's (main thread, from the text alone) while the
 * inference thread runs the encoder, instead of after its answer.
 */
export interface Blender {
  /** Null when config.json asks for no blend. */
  ngramPart(text: string): NgramScores | null;
  combine(out: EncoderOutput, ngram: NgramScores | null): TriagePrediction;
}

function l2normalize(v: Float32Array): number[] {
  let sq = 0;
  for (const x of v) sq += x * x;
  const n = Math.sqrt(sq);
  const scale = n > 0 && Number.isFinite(n) ? 1 / n : 1;
  return Array.from(v, (x) => x * scale);
}

function normalizeProbs(p: number[]): number[] {
  const clean = p.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  return sum > 0 ? clean.map((x) => x / sum) : clean.map(() => 1 / clean.length);
}

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5);

/** Throws ModelLoadError when the blend needs a label the n-gram model does not know. */
export function createBlender(config: ModelConfig, ngram: NgramModel): Blender {
  const labels = config.labels;
  const blend = config.blend ?? null;
  const ngramIndex = labels.map((label) => {
    const i = ngram.labels.indexOf(label);
    if (i < 0 && blend) throw new ModelLoadError(`ngram.json has no label "${label}" (config.json labels)`);
    return i;
  });
  const combine = (out: EncoderOutput, ng: NgramScores | null): TriagePrediction => {
    let p = Array.from(out.probs);
    let u = out.urgency;
    if (blend && ng) {
      const w = blend.queue_encoder_weight;
      // as training/metrics.power_calibrate: clip to [1e-12, 1], power 1/t, renormalise
      p = normalizeProbs(
        p.map((pe, k) => Math.pow(Math.min(1, Math.max(1e-12, w * pe + (1 - w) * (ng.proba[ngramIndex[k] as number] ?? 0))), 1 / blend.temperature)),
      );
      u = blend.urgency_encoder_weight * u + (1 - blend.urgency_encoder_weight) * ng.urgency;
    } else {
      p = normalizeProbs(p);
    }
    return { ...rankQueues(p, labels), urgency: clamp01(u), embedding: l2normalize(out.embedding), modelVersion: config.model_version, inputTokens: out.tokens };
  };
  return { ngramPart: (text) => (blend ? ngram.predict(text) : null), combine };
}
