import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DriftReference, computeDrift, driftReferenceOf, tokenLengthBins } from './drift';
import { histogram, percentileBins, psi, psiBand } from './psi';
import { bucketsFor, parseWindow } from './window';

const config = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'models', 'triage', 'config.json'), 'utf8')) as Record<string, unknown>;
const reference = driftReferenceOf(config)!;

describe('psi', () => {
  it('is 0 for the same distribution and grows with the shift', () => {
    expect(psi([10, 20, 70], [1, 2, 7])).toBeCloseTo(0, 10);
    const small = psi([0.3, 0.3, 0.4], [0.28, 0.32, 0.4]);
    const large = psi([0.3, 0.3, 0.4], [0.7, 0.2, 0.1]);
    expect(small).toBeLessThan(0.1);
    expect(large).toBeGreaterThan(0.25);
    expect(psiBand(small)).toBe('stable');
    expect(psiBand(0.2)).toBe('watch');
    expect(psiBand(large)).toBe('act');
  });

  it('stays finite when a bin is empty on one side', () => {
    expect(Number.isFinite(psi([0.5, 0.5, 0], [0.4, 0.4, 0.2]))).toBe(true);
  });

  it('bins by edges, the last bin closed', () => {
    expect(histogram([[0, 1], [0.05, 2], [0.1, 3], [1, 4]], [0, 0.1, 0.2, 1])).toEqual([3, 3, 4]);
  });

  it('turns percentiles into bins holding their gaps', () => {
    const { edges, shares } = percentileBins({ '5': 26, '25': 69, '50': 113, '75': 144, '95': 256 });
    expect(edges).toEqual([-Infinity, 26, 69, 113, 144, 256, Infinity]);
    shares.forEach((s, i) => expect(s).toBeCloseTo([0.05, 0.2, 0.25, 0.25, 0.2, 0.05][i]!, 10));
  });
});

describe('computeDrift against the shipped model reference', () => {
  const asCounts = (n: number) => ({
    byQueue: Object.fromEntries(Object.entries(reference.predicted_queue_share).map(([q, s]) => [q, Math.round(s * n)])),
    urgency: new Map(reference.urgency.share.map((s, i) => [i * 10 + 5, Math.round(s * n)] as [number, number])),
    tokens: tokensShapedLike(reference, n),
  });

  it('reads ≈ 0 for counts shaped like the reference', () => {
    const signals = computeDrift(reference, asCounts(1000), 100);
    for (const s of signals) expect(s.psi).toBeLessThan(0.01);
  });

  it('reads ≥ 0.25 for a shifted window and withholds PSI below the minimum sample', () => {
    const shifted = { byQueue: { 'Billing and Payments': 900, 'Technical Support': 100 }, urgency: new Map([[95, 1000]]), tokens: new Map([[500, 1000]]) };
    const signals = computeDrift(reference, shifted, 100);
    for (const s of signals) expect(s.band).toBe('act');
    expect(computeDrift(reference, asCounts(50), 100).every((s) => s.psi === null)).toBe(true);
  });
});

// One length inside each of the reference's length bins, weighted by that bin's share, so the
// tests follow whichever model is shipped.
function tokensShapedLike(ref: DriftReference, n: number): Map<number, number> {
  const { edges, shares } = tokenLengthBins(ref);
  const inside = (i: number) => {
    const [lo, hi] = [edges[i]!, edges[i + 1]!];
    if (!Number.isFinite(lo)) return hi - 1;
    if (!Number.isFinite(hi)) return lo + 1;
    return (lo + hi) / 2;
  };
  return new Map(shares.map((share, i) => [inside(i), Math.round(share * n)] as [number, number]));
}

describe('input tokens when many texts reach max_length', () => {
  // 60 % of the training texts truncated at 96 tokens: percentiles 50, 75 and 95 all read 96.
  const truncating: DriftReference = {
    predicted_queue_share: { A: 1 },
    urgency: { edges: [0, 1], share: [1] },
    token_length_percentiles: { '5': 14.5, '25': 32.5, '50': 96, '75': 96, '95': 96 },
    token_length: { edges: [0, 14.5, 32.5, 96, 96], share: [0.1, 0.2, 0.1, 0.6] },
  };
  const window = { byQueue: { A: 1000 }, urgency: new Map([[50, 1000]]), tokens: new Map([[10, 100], [20, 200], [60, 100], [96, 600]]) };
  const tokenPsi = (ref: DriftReference) => computeDrift(ref, window, 100).find((s) => s.signal === 'input_tokens')!;

  it('reads its own traffic as stable with the histogram, with the truncated texts in a bin of their own', () => {
    const s = tokenPsi(truncating);
    expect(s.psi).toBeLessThan(0.01);
    expect(s.bins.at(-1)).toEqual({ bin: '96', reference: 0.6, current: 0.6 });
    expect(computeDrift(truncating, { ...window, tokens: tokensShapedLike(truncating, 1000) }, 100)[2]!.psi).toBeLessThan(0.01);
  });

  it('would read that same traffic as drift from the tied percentiles alone (older bundles)', () => {
    const { token_length: _histogram, ...percentilesOnly } = truncating;
    expect(tokenPsi(percentilesOnly).psi).toBeGreaterThan(0.25);
  });
});

describe('windows', () => {
  it('parses 1 minute to 7 days', () => {
    expect(parseWindow('24h')).toBe(86_400_000);
    expect(parseWindow('30m')).toBe(1_800_000);
    expect(parseWindow('7d')).toBe(7 * 86_400_000);
    for (const bad of ['0h', '8d', '24', 'h', '1.5h', '-1h', '24hours']) expect(parseWindow(bad)).toBeNull();
  });

  it('reads short windows from minute buckets and long ones from hours', () => {
    const now = Date.UTC(2026, 0, 1, 12, 30);
    expect(bucketsFor(30 * 60_000, now)).toMatchObject({ resolution: 'm' });
    expect(bucketsFor(30 * 60_000, now).buckets).toHaveLength(30);
    const day = bucketsFor(86_400_000, now);
    expect(day.resolution).toBe('h');
    expect(day.buckets).toHaveLength(24);
    expect(day.buckets.at(-1)).toBe(Math.floor(now / 3_600_000));
  });
});
