/** Aggregation windows of the live statistics: `30m`, `24h`, `7d`. */
export const MAX_WINDOW_MS = 7 * 86_400_000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `<n>m|h|d` (1 minute … 7 days); null when the text is not such a window. */
export function parseWindow(text: string): number | null {
  const match = /^([1-9][0-9]{0,4})([mhd])$/.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms <= MAX_WINDOW_MS ? ms : null;
}

/**
 * Counters live in minute buckets (kept a few hours) and hour buckets (kept past the longest
 * window): a window up to this long is read from minutes, a longer one from whole hours.
 */
export const MINUTE_RESOLUTION_MAX_MS = 2 * 3_600_000;

export interface BucketRange {
  resolution: 'm' | 'h';
  /** Bucket numbers (epoch ms / bucket size), oldest first, the current partial bucket last. */
  buckets: number[];
}

export function bucketsFor(windowMs: number, nowMs: number): BucketRange {
  const resolution = windowMs <= MINUTE_RESOLUTION_MAX_MS ? 'm' : 'h';
  const size = resolution === 'm' ? UNIT_MS.m : UNIT_MS.h;
  const last = Math.floor(nowMs / size);
  const count = Math.max(1, Math.ceil(windowMs / size));
  return { resolution, buckets: Array.from({ length: count }, (_, i) => last - count + 1 + i) };
}

export const bucketOf = (resolution: 'm' | 'h', atMs: number) => Math.floor(atMs / (resolution === 'm' ? UNIT_MS.m : UNIT_MS.h));
