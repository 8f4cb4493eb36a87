/** Population stability index between a reference and a current distribution over the same bins. */

/** Bins empty on one side get this share, so one unseen bin is a large but finite term. */
const EPSILON = 1e-4;

export type DriftBand = 'stable' | 'watch' | 'act';

/** From here on a shift is large enough to act on (and the worker sends a `drift` alert). */
export const PSI_ACT = 0.25;

export function psiBand(psi: number): DriftBand {
  return psi < 0.1 ? 'stable' : psi < PSI_ACT ? 'watch' : 'act';
}

function normalised(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => Math.max(EPSILON, total > 0 ? c / total : 0));
}

/** Σ (current − reference) · ln(current / reference); both arguments are counts or shares. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  if (reference.length !== current.length) throw new Error(`psi: ${reference.length} reference bins vs ${current.length} current`);
  const ref = normalised(reference);
  const cur = normalised(current);
  return ref.reduce((sum, r, i) => sum + (cur[i]! - r) * Math.log(cur[i]! / r), 0);
}

/** Counts of values per bin of `edges` (ascending; the last bin includes its upper edge). */
export function histogram(values: Iterable<[value: number, count: number]>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const [value, count] of values) {
    let i = edges.findIndex((e, k) => k > 0 && value < e) - 1;
    if (i < 0) i = value < edges[0]! ? 0 : edges.length - 2;
    counts[i] = counts[i]! + count;
  }
  return counts;
}

/**
 * The reference's token lengths come as percentiles (5, 25, 50, 75, 95): they cut the line into six
 * bins whose reference shares are the gaps between the percentiles.
 */
export function percentileBins(percentiles: Record<string, number>): { edges: number[]; shares: number[] } {
  const points = Object.entries(percentiles)
    .map(([p, v]) => [Number(p), v] as const)
    .filter(([p, v]) => Number.isFinite(p) && Number.isFinite(v))
    .sort((a, b) => a[0] - b[0]);
  const edges = [-Infinity, ...points.map(([, v]) => v), Infinity];
  const cuts = [0, ...points.map(([p]) => p / 100), 1];
  const shares = cuts.slice(1).map((c, i) => c - cuts[i]!);
  return { edges, shares };
}
