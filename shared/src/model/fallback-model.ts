/**
 * The n-gram fallback as a stand-alone triage model: what the gateway's /v1 path serves and what a
 * worker serves while its encoder's circuit breaker is open. Pure TypeScript, synchronous, no ONNX.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { loadNgramModel } from './ngram-model';
import type { ModelConfig, QueueProbability, TriagePrediction } from './triage-model';

/** A prediction without the encoder's embedding (the n-gram model has none). */
export type FallbackPrediction = Omit<TriagePrediction, 'embedding'>;

export interface FallbackModel {
  /** The model directory's version (config.json), so results of one bundle share one version. */
  readonly modelVersion: string;
  readonly labels: readonly string[];
  readonly actionThresholds: ModelConfig['action_thresholds'];
  predict(text: string): FallbackPrediction;
}

const bundleConfigSchema = z.looseObject({
  model_version: z.string().min(1),
  action_thresholds: z.object({ auto_route: z.number(), human_review: z.number() }).optional(),
});

/**
 * config.json is optional here: the fallback must keep serving when the bundle is half broken, so
 * without it the version is derived from ngram.json's own bytes.
 */
function readBundleConfig(dir: string, ngramPath: string): z.infer<typeof bundleConfigSchema> {
  try {
    return bundleConfigSchema.parse(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  } catch {
    const digest = createHash('sha256').update(readFileSync(ngramPath)).digest('hex').slice(0, 16);
    return { model_version: `ngram-sha256:${digest}` };
  }
}

/** Loads `<dir>/ngram.json`. Throws ModelLoadError when it is missing or corrupt. */
export function loadFallbackModel(dir: string): FallbackModel {
  const root = resolve(dir);
  const ngramPath = join(root, 'ngram.json');
  const ngram = loadNgramModel(ngramPath);
  const config = readBundleConfig(root, ngramPath);
  const labels = ngram.labels;
  return {
    modelVersion: config.model_version,
    labels,
    actionThresholds: config.action_thresholds,
    predict(text: string): FallbackPrediction {
      const { proba, urgency } = ngram.predict(text);
      const ranked: QueueProbability[] = proba
        .map((probability, k) => ({ category: labels[k] as string, probability }))
        .sort((a, b) => b.probability - a.probability);
      const best = ranked[0] as QueueProbability;
      return { category: best.category, confidence: best.probability, top3: ranked.slice(0, 3), urgency, modelVersion: config.model_version };
    },
  };
}
