import { type FallbackModel, loadFallbackModel } from '@triage/shared';

/** The gateway's in-process n-gram model; /v2 does not need it, so a broken bundle is reported, not fatal. */
export type FallbackState = { status: 'ready'; model: FallbackModel } | { status: 'unavailable'; error: string };

export function loadFallbackState(modelDir: string): FallbackState {
  try {
    return { status: 'ready', model: loadFallbackModel(modelDir) };
  } catch (err) {
    return { status: 'unavailable', error: err instanceof Error ? err.message : String(err) };
  }
}
