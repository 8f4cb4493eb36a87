import { errorMessage, type FallbackModel, loadFallbackModel } from '@triage/shared';
import { withoutPaths } from '../client-safe';

/**
 * The gateway's in-process n-gram model; /v2 does not need it, so a broken bundle is reported, not
 * fatal. `error` goes to clients (/health, /v1's 503) without paths; `detail` is for the log.
 */
export type FallbackState = { status: 'ready'; model: FallbackModel } | { status: 'unavailable'; error: string; detail: string };

export function loadFallbackState(modelDir: string): FallbackState {
  try {
    return { status: 'ready', model: loadFallbackModel(modelDir) };
  } catch (err) {
    const detail = errorMessage(err);
    return { status: 'unavailable', error: withoutPaths(detail), detail };
  }
}

/**
 * Serves the promoted version's n-gram model: routes read the one state object on every request, so
 * replacing its contents switches /v1 (and the drift reference) at once. Throws, leaving the
 * current model in place, when the new one cannot be used.
 */
export function promoteFallbackState(state: FallbackState, dir: string, version: string): void {
  const next = loadFallbackState(dir);
  if (next.status !== 'ready') throw new Error(next.error);
  if (next.model.modelVersion !== version) throw new Error(`${dir} holds model ${next.model.modelVersion}, not ${version}`);
  Object.assign(state, next);
  if ('error' in state) delete (state as { error?: string }).error;
}
