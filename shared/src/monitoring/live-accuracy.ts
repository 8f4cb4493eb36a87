import type { LiveAccuracy } from '../schemas/learning.schema';
import type { StoredFeedback } from '../store/feedback-reader';

type Tally = Record<string, { kept: number; n: number }>;

/**
 * The share of reviewed tickets whose predicted queue the agent kept. Corrections come from the
 * feedback stream (a correction that names no queue, or the predicted one, keeps it); plain acks
 * come as counted verdicts.
 */
export function liveAccuracy(corrections: readonly StoredFeedback[], verdicts: { byVersion: Tally; byQueue: Tally }): LiveAccuracy {
  const byVersion: Tally = structuredClone(verdicts.byVersion);
  const byQueue: Tally = structuredClone(verdicts.byQueue);
  const count = (t: Tally, key: string, kept: boolean) => {
    const e = (t[key] ??= { kept: 0, n: 0 });
    e.n += 1;
    if (kept) e.kept += 1;
  };
  for (const c of corrections) {
    const kept = c.queue === undefined || c.queue === c.predicted_queue;
    count(byVersion, c.model_version, kept);
    count(byQueue, c.predicted_queue, kept);
  }
  const ratio = ({ kept, n }: { kept: number; n: number }) => ({ accuracy: n > 0 ? kept / n : null, n });
  const total = Object.values(byVersion).reduce((a, e) => ({ kept: a.kept + e.kept, n: a.n + e.n }), { kept: 0, n: 0 });
  return {
    overall: ratio(total).accuracy,
    n: total.n,
    by_queue: Object.fromEntries(Object.entries(byQueue).map(([k, v]) => [k, ratio(v)])),
    by_model_version: Object.fromEntries(Object.entries(byVersion).map(([k, v]) => [k, ratio(v)])),
  };
}
