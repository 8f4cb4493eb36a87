import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type FallbackModel, type ModelConfig, ModelLoadError, errorMessage, loadFallbackModel, readModelConfig } from '@triage/shared';
import { withoutPaths } from '../client-safe';

/** What the gateway reads of the served bundle outside /v1: its version, queues and config.json. */
export interface ServedBundle {
  modelVersion: string;
  labels: readonly string[];
  config: ModelConfig | null;
}

/**
 * The served bundle and its n-gram model for /v1; /v2 does not need the model, so a broken bundle is
 * reported, not fatal. `error` goes to clients (/health, /v1's 503) without paths; `detail` is for the log.
 * `model()` loads the n-gram weights on /v1's first use and keeps them: a gateway that never serves /v1
 * does not hold them (about 12 MB of RSS, docs/performance.md). It throws, and /v1 answers 503, when
 * they cannot be loaded.
 */
export type FallbackState = { status: 'ready'; bundle: ServedBundle; model(): FallbackModel } | { status: 'unavailable'; error: string; detail: string };

/**
 * The bundle as config.json describes it, without parsing the n-gram weights; without a valid
 * config.json, ngram.json itself says what the bundle holds (and is then loaded).
 */
function describeBundle(modelDir: string): { bundle: ServedBundle; model?: FallbackModel } {
  const ngramPath = join(modelDir, 'ngram.json');
  if (!existsSync(ngramPath)) throw new ModelLoadError(`n-gram model missing: ${ngramPath}`);
  let config: ModelConfig;
  try {
    config = readModelConfig(modelDir);
  } catch {
    const model = loadFallbackModel(modelDir);
    return { bundle: { modelVersion: model.modelVersion, labels: model.labels, config: model.config }, model };
  }
  return { bundle: { modelVersion: config.model_version, labels: config.labels, config } };
}

/** ngram.json's size and modification time: a failed load is tried again only once the file has changed. */
function fileStamp(path: string): string {
  try {
    const { size, mtimeMs } = statSync(path);
    return `${size}:${mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * The n-gram model, loaded on the first call. A load that fails is remembered until ngram.json
 * changes: parsing the 5 MB file blocks the event loop, and every /v1 request would pay for it again.
 */
function lazyModel(modelDir: string, loaded: FallbackModel | undefined): () => FallbackModel {
  let model = loaded;
  let failed: { stamp: string; error: unknown } | undefined;
  const ngramPath = join(modelDir, 'ngram.json');
  return () => {
    if (model) return model;
    const stamp = fileStamp(ngramPath);
    if (failed?.stamp === stamp) throw failed.error;
    try {
      model = loadFallbackModel(modelDir);
      return model;
    } catch (error) {
      failed = { stamp, error };
      throw error;
    }
  };
}

export function loadFallbackState(modelDir: string): FallbackState {
  try {
    const described = describeBundle(modelDir);
    return { status: 'ready', bundle: described.bundle, model: lazyModel(modelDir, described.model) };
  } catch (err) {
    const detail = errorMessage(err);
    return { status: 'unavailable', error: withoutPaths(detail), detail };
  }
}

/**
 * Serves the promoted version's bundle: routes read the one state object on every request, so
 * replacing its contents switches /v1 (and the drift reference) at once. Throws, leaving the
 * current model in place, when the new one cannot be used.
 */
export function promoteFallbackState(state: FallbackState, dir: string, version: string): void {
  const next = loadFallbackState(dir);
  if (next.status !== 'ready') throw new Error(next.error);
  if (next.bundle.modelVersion !== version) throw new Error(`${dir} holds model ${next.bundle.modelVersion}, not ${version}`);
  Object.assign(state, next);
  if ('error' in state) delete (state as { error?: string }).error;
}
