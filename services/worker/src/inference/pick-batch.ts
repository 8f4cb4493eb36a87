/**
 * The worker's one batching decision. Padding every text to the longest in its batch costs more
 * than batching saves unless the lengths are close, so a batch is the oldest waiting text plus the
 * waiting texts nearest to its length, as long as padding stays within `maxPadding` of the real tokens
 * and the padded batch within `maxTokens`.
 */
export interface Batchable {
  /** Estimated token count (see estimateTokens). */
  tokens: number;
  /** Set after its batch failed: it runs alone, so a poison text cannot fail its neighbours twice. */
  alone: boolean;
}

/** Tokens ≈ UTF-16 units / 4 for the shipped tokenizer; the special tokens add 2; truncation caps it. */
export function estimateTokens(text: string, maxLength: number): number {
  return Math.min(maxLength, 2 + Math.ceil(text.length / 4));
}

export interface BatchLimits {
  /** Most texts per run (1 = no batching). */
  maxBatch: number;
  /** Padding may add at most this fraction of the batch's real tokens. */
  maxPadding: number;
  /**
   * Most padded tokens (texts × longest) per run. onnxruntime's CPU arena keeps the largest activation
   * footprint any run needed: four texts of 256 tokens leave ~75 MB more resident for good, so the
   * default (DEFAULT_BATCH_TOKENS) never lets a batch need more than one 256-token text.
   */
  maxTokens: number;
}

/** Indices into `queue` (oldest first) of the next batch; the head is always included, first. */
export function pickBatch(queue: readonly Batchable[], { maxBatch, maxPadding, maxTokens }: BatchLimits): number[] {
  const head = queue[0];
  if (!head) return [];
  if (head.alone || maxBatch <= 1) return [0];
  const distance = (i: number) => Math.abs((queue[i] as Batchable).tokens - head.tokens);
  const candidates = queue
    .map((_, i) => i)
    .filter((i) => i > 0 && !(queue[i] as Batchable).alone)
    .sort((a, b) => distance(a) - distance(b) || a - b);
  const chosen = [0];
  let sum = head.tokens;
  let longest = head.tokens;
  for (const i of candidates) {
    if (chosen.length >= maxBatch) break;
    const t = (queue[i] as Batchable).tokens;
    const padded = Math.max(longest, t) * (chosen.length + 1);
    if (padded > maxTokens || padded > (sum + t) * (1 + maxPadding)) continue;
    chosen.push(i);
    sum += t;
    longest = Math.max(longest, t);
  }
  return chosen;
}
