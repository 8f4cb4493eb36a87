import { z } from 'zod';
import { type DriftBand, histogram, percentileBins, psi, psiBand } from './psi';

const histogramSchema = z
  .object({ edges: z.array(z.number()).min(2), share: z.array(z.number().min(0)) })
  .refine((h) => h.share.length === h.edges.length - 1, 'share needs one entry per bin');

/** The `drift_reference` block training writes into config.json (the served blend on the training rows). */
export const driftReferenceSchema = z.looseObject({
  predicted_queue_share: z.record(z.string(), z.number().min(0)),
  urgency: histogramSchema,
  token_length_percentiles: z.record(z.string(), z.number()),
  /**
   * Input tokens as a histogram whose last bin, [max_length, max_length], holds the truncated texts. Bundles
   * made before it have percentiles only, which tie when many texts reach max_length.
   */
  token_length: histogramSchema.optional(),
});
export type DriftReference = z.infer<typeof driftReferenceSchema>;

export const DRIFT_SIGNALS = ['predicted_queue', 'urgency', 'input_tokens'] as const;
export type DriftSignal = (typeof DRIFT_SIGNALS)[number];

export interface SignalDrift {
  signal: DriftSignal;
  /** null when the window holds fewer observations than the minimum sample. */
  psi: number | null;
  band: DriftBand | null;
  n: number;
  bins: { bin: string; reference: number; current: number }[];
}

export interface DriftInputs {
  byQueue: Record<string, number>;
  /** urgency percent (0–99) → count */
  urgency: Map<number, number>;
  tokens: Map<number, number>;
}

const share = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
};

function signal(name: DriftSignal, labels: string[], reference: number[], current: number[], minSamples: number): SignalDrift {
  const n = current.reduce((a, b) => a + b, 0);
  const value = n >= minSamples ? psi(reference, current) : null;
  const cur = share(current);
  const ref = share(reference);
  return {
    signal: name,
    psi: value,
    band: value === null ? null : psiBand(value),
    n,
    bins: labels.map((bin, i) => ({ bin, reference: ref[i]!, current: cur[i]! })),
  };
}

/** PSI of each signal: the window's counts against the model's training-time reference. */
export function computeDrift(reference: DriftReference, window: DriftInputs, minSamples: number): SignalDrift[] {
  // Queues the reference does not know (another taxonomy) still count, as a bin of their own.
  const queues = [...new Set([...Object.keys(reference.predicted_queue_share), ...Object.keys(window.byQueue)])].sort();
  const queue = signal(
    'predicted_queue',
    queues,
    queues.map((q) => reference.predicted_queue_share[q] ?? 0),
    queues.map((q) => window.byQueue[q] ?? 0),
    minSamples,
  );

  const { edges, share: urgencyShare } = reference.urgency;
  const urgencyCounts = histogram([...window.urgency].map(([pct, c]) => [(pct + 0.5) / 100, c]), edges);
  const urgency = signal(
    'urgency',
    edges.slice(1).map((hi, i) => `${edges[i]!.toFixed(2)}–${hi.toFixed(2)}`),
    urgencyShare,
    urgencyCounts,
    minSamples,
  );

  const bins = tokenLengthBins(reference);
  const tokens = signal(
    'input_tokens',
    bins.edges.slice(1).map((hi, i) => (bins.edges[i] === hi ? `${hi}` : `${bins.edges[i]}–${hi}`)),
    bins.shares,
    histogram(window.tokens, bins.edges),
    minSamples,
  );
  return [queue, urgency, tokens];
}

/** The reference's input-length bins: its histogram when it has one, else bins between its percentiles. */
export function tokenLengthBins(reference: DriftReference): { edges: number[]; shares: number[] } {
  const h = reference.token_length;
  return h ? { edges: h.edges, shares: h.share } : percentileBins(reference.token_length_percentiles);
}

/** The drift reference of a model directory's config.json; null when the model has none or it does not parse. */
export function driftReferenceOf(config: Record<string, unknown>): DriftReference | null {
  const parsed = driftReferenceSchema.safeParse(config.drift_reference);
  return parsed.success ? parsed.data : null;
}
