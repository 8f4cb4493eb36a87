import { BREAKER_STATES, type BreakerState, type WorkerHeartbeat } from '@triage/shared';

/** Live workers per encoder breaker state; a worker from before the breaker counts as closed. */
export function breakerCounts(workers: readonly WorkerHeartbeat[]): Record<BreakerState, number> {
  const counts = Object.fromEntries(BREAKER_STATES.map((s) => [s, 0])) as Record<BreakerState, number>;
  for (const w of workers) counts[w.breaker?.state ?? 'closed'] += 1;
  return counts;
}
