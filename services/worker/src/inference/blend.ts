/**
 * Turns the encoder's raw output into the served prediction, blending in the n-gram model when the
 * bundle's config.json asks for it. Runs on the worker's main thread with the same n-gram instance
 * the fallback serves, so a worker holds one copy of it.
 */
import { type ConfidenceMap, type ModelConfig, ModelLoadError, type NgramModel, type TriagePrediction, rankQueues } from '@triage/shared';
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
  for (let i = 0; i < v.length; i++) sq += (v[i] as number) ** 2;
  const n = Math.sqrt(sq);
  const scale = n > 0 && Number.isFinite(n) ? 1 / n : 1;
  // filled by index, the array keeps unboxed doubles (Array.from's callback boxes each one: ~20 KB a ticket)
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) * scale;
  return out;
}

function normalizeProbs(p: number[]): number[] {
  const clean = p.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  return sum > 0 ? clean.map((x) => x / sum) : clean.map(() => 1 / clean.length);
}

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5);

/** Linear interpolation through the knots, flat beyond the ends (numpy.interp). */
function interpolate(v: number, xs: readonly number[], ys: readonly number[]): number {
  if (v <= (xs[0] as number)) return ys[0] as number;
  const last = xs.length - 1;
  if (v >= (xs[last] as number)) return ys[last] as number;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= v) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const x1 = xs[hi] as number;
  const y0 = ys[lo] as number;
  return x1 === x0 ? y0 : y0 + ((v - x0) * ((ys[hi] as number) - y0)) / (x1 - x0);
}

/**
 * As training/metrics.apply_confidence_map: the top class's probability becomes map(confidence), the
 * others keep their ratios and share the rest; the top class never drops below the runner-up, so the
 * ranking is the blend's.
 */
export function applyConfidenceMap(p: readonly number[], map: ConfidenceMap): number[] {
  let top = 0;
  for (let k = 1; k < p.length; k++) if ((p[k] as number) > (p[top] as number)) top = k;
  const p1 = p[top] as number;
  const rest = 1 - p1;
  if (!(rest > 1e-12)) return p.slice();
  let p2 = 0;
  p.forEach((v, k) => {
    if (k !== top && v > p2) p2 = v;
  });
  const g = Math.max(interpolate(p1, map.x, map.y), Math.min(p1, p2 / (rest + p2) + 1e-9));
  const scale = (1 - g) / rest;
  return p.map((v, k) => (k === top ? g : v * scale));
}

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
    let blended: number[] | undefined;
    if (blend && ng) {
      const w = blend.queue_encoder_weight;
      // as training/metrics.power_calibrate: clip to [1e-12, 1], power 1/t, renormalise
      p = normalizeProbs(
        p.map((pe, k) => Math.pow(Math.min(1, Math.max(1e-12, w * pe + (1 - w) * (ng.proba[ngramIndex[k] as number] ?? 0))), 1 / blend.temperature)),
      );
      u = blend.urgency_encoder_weight * u + (1 - blend.urgency_encoder_weight) * ng.urgency;
      if (blend.confidence_map) {
        blended = p;
        p = applyConfidenceMap(p, blend.confidence_map);
      }
    } else {
      p = normalizeProbs(p);
    }
    const prediction = { ...rankQueues(p, labels), urgency: clamp01(u), embedding: l2normalize(out.embedding), modelVersion: config.model_version, inputTokens: out.tokens };
    return blended ? { ...prediction, blended } : prediction;
  };
  return { ngramPart: (text) => (blend ? ngram.predict(text) : null), combine };
}
