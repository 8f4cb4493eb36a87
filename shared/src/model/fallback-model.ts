/**
 * The n-gram fallback as a stand-alone triage model: what the gateway's /v1 path serves and what a
 * worker serves while its encoder's circuit breaker is open. Pure TypeScript, synchronous, no ONNX.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ModelConfig, readModelConfig } from './model-config';
import { type NgramModel, loadNgramModel } from './ngram-model';
import { type TriagePrediction, rankQueues } from './prediction';

/** A prediction without the encoder's embedding (the n-gram model has none). */
export type FallbackPrediction = Omit<TriagePrediction, 'embedding'>;

export interface FallbackModel {
  /** The model directory's version (config.json), so results of one bundle share one version. */
  readonly modelVersion: string;
  readonly labels: readonly string[];
  readonly actionThresholds: ModelConfig['action_thresholds'];
  /** The bundle's config.json, parsed once here for every reader in the process; null when missing or invalid. */
  readonly config: ModelConfig | null;
  /** The loaded n-gram model itself: a worker blends encoder answers with this same instance. */
  readonly ngram: NgramModel;
  predict(text: string): FallbackPrediction;
}

/**
 * config.json is optional here: the fallback must keep serving when the bundle is half broken, so
 * without a valid one the version is derived from ngram.json's own bytes.
 */
function tryReadModelConfig(dir: string): ModelConfig | null {
  try {
    return readModelConfig(dir);
  } catch {
    return null;
  }
}

const ngramVersion = (ngramPath: string) => `ngram-sha256:${createHash('sha256').update(readFileSync(ngramPath)).digest('hex').slice(0, 16)}`;

/** Loads `<dir>/ngram.json`. Throws ModelLoadError when it is missing or corrupt. */
export function loadFallbackModel(dir: string): FallbackModel {
  const root = resolve(dir);
  const ngramPath = join(root, 'ngram.json');
  const ngram = loadNgramModel(ngramPath);
  const config = tryReadModelConfig(root);
  const modelVersion = config?.model_version ?? ngramVersion(ngramPath);
  const labels = ngram.labels;
  return {
    modelVersion,
    labels,
    actionThresholds: config?.action_thresholds,
    config,
    ngram,
    predict(text: string): FallbackPrediction {
      const { proba, urgency } = ngram.predict(text);
      return { ...rankQueues(proba, labels), urgency, modelVersion };
    },
  };
}
