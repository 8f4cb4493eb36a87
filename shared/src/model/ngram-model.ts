/**
 * Pure TypeScript inference for the hashed word/char n-gram model (`ngram.json`), the fallback and
 * blend component of the triage model. The trainer is `training/ngram.py`; both sides implement the
 * same feature extraction and must agree to 1e-5 (see `ngram-model.test.ts`, parity fixture written by
 * `python -m training.ngram_fixture`).
 *
 * Feature extraction (identical in Python):
 * 1. lone UTF-16 surrogates → U+FFFD; keep the first `max_chars` code points; NFKC; lowercase
 *    (`String.prototype.toLowerCase` ≙ Python `str.lower`, both Unicode full case mapping incl. final sigma).
 * 2. tokens = maximal runs of letters/numbers: JS `/[\p{L}\p{N}]+/gu` ≙ Python `re.findall(r"[^\W_]+")`
 *    (Python's `\w` minus `_` is exactly `str.isalnum()`, i.e. categories L* and N*; checked code point by
 *    code point over the whole Unicode range — they differ only on characters newer than Python 3.11's
 *    Unicode 14 database).
 * 3. word block: `w:<tok>` unigrams and `b:<tok1> <tok2>` bigrams; char block: `c:<gram>` for code-point
 *    3..5-grams of `" " + tok + " "` per token occurrence. Each feature string s is hashed with FNV-1a
 *    32-bit over its UTF-8 bytes (h); tf = occurrences of h in the text (counted per hash, so n-grams are
 *    hashed incrementally without building strings); bucket = h & (n_buckets − 1), sign = bit 31 ? −1 : +1,
 *    value sign·(1 + ln tf) (·idf[bucket] when an idf vector is present). Each block is L2-normalised
 *    separately, then both are summed into the same bucket space.
 * 4. keyword features (dimensions n_buckets … n_buckets + groups − 1): `keyword_weight` when any term of the
 *    group occurs as a contiguous token sequence (the last token of a term may be a prefix match).
 * Queue: softmax(intercept + x·W). Urgency: `expected` — Σ softmax(intercept + x·W)_k · values_k, or
 * `linear` — clip(intercept + x·w, 0, 1). The JSON layout is documented in `training/ngram.py`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ModelLoadError } from './errors';
import { toWellFormed } from './text';

export interface NgramModel {
  readonly labels: readonly string[];
  predictProba(text: string): number[];
  predictUrgency(text: string): number;
  /** Both outputs from one feature extraction. */
  predict(text: string): { proba: number[]; urgency: number };
  /**
   * Per-token evidence for queue `label` and for urgency (see `NgramAttribution`); one feature
   * extraction, with each hashed feature traced back to the tokens it came from.
   */
  attribute(text: string, label: number): NgramAttribution;
  /**
   * Bytes the weight matrices (queue, urgency, idf) occupy in memory: 2 per weight for float16 files,
   * which stay float16 in memory (decoded per read, exactly), 4 per weight for float32 files.
   */
  readonly weightBytes: number;
}

/**
 * Gradient × input of the model's outputs, split over the normalised tokens. The queue logits are
 * linear in the features, so for queue c with probability p_c, Σ_t queue[t] + p_c·(b_c − Σ_k p_k b_k)
 * equals p_c·(logit_c − Σ_k p_k logit_k) exactly: each token gets the share of every feature it produced
 * (a feature seen n times gives each occurrence 1/n; a bigram splits an occurrence over its two tokens;
 * a char n-gram goes to the tokens that contain it; a keyword group to the tokens that matched it).
 */
export interface NgramAttribution {
  /** Normalised tokens, in text order (`ngramTokens(normalizeNgramText(text))`). */
  tokens: string[];
  /**
   * Each token's [start, end) UTF-16 offsets in the original text, or null where normalisation (NFKC can
   * merge or split words) makes the token impossible to place.
   */
  spans: Array<readonly [number, number] | null>;
  proba: number[];
  urgency: number;
  /** Per token: its part of ∂p_label/∂x · x (probability units). */
  queue: Float64Array;
  /** Per token: its part of ∂urgency/∂x · x (0 everywhere when a `linear` urgency is clipped). */
  urgencyEvidence: Float64Array;
}

/** Receives the provenance of every feature while `NgramFeaturizer.features` extracts them. */
interface FeatureTrace {
  tokens(tokens: readonly string[]): void;
  /** One occurrence of word n-gram `hash` covering tokens start … start+n−1. */
  word(hash: number, start: number, n: number): void;
  /** Char n-gram `hash` occurs in token string `token` (called once per occurrence inside it). */
  char(hash: number, token: string): void;
  /** The L2 norm a block was divided by (0: empty block, contributes nothing). */
  blockNorm(block: 'word' | 'char', norm: number): void;
  /** Keyword group g matched tokens start … start+n−1. */
  keyword(group: number, start: number, n: number): void;
}

const matrixSchema = z.object({
  dtype: z.enum(['float16', 'float32']),
  shape: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  data: z.string(),
});

const termSchema = z.object({ tokens: z.array(z.string()).min(1), prefix: z.boolean() });

/** What feature extraction reads: everything but the matrices. */
const featureSpecSchema = z.object({
  format: z.literal('triage-ngram'),
  version: z.literal(1),
  labels: z.array(z.string()).min(1),
  hash: z.literal('fnv1a32-utf8'),
  n_buckets: z.number().int().positive(),
  max_chars: z.number().int().positive(),
  word_ngrams: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  char_ngrams: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  keyword_weight: z.number(),
  keywords: z.array(z.object({ name: z.string(), terms: z.array(termSchema) })),
});

const ngramSchema = featureSpecSchema.extend({
  idf: matrixSchema.nullable().optional(),
  queue: z.object({ coef: matrixSchema, intercept: z.array(z.number()) }),
  urgency: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('expected'), values: z.array(z.number()), coef: matrixSchema, intercept: z.array(z.number()) }),
    z.object({ kind: z.literal('linear'), coef: matrixSchema, intercept: z.array(z.number()).length(1) }),
  ]),
});

export type NgramJson = z.infer<typeof ngramSchema>;
type FeatureSpec = z.infer<typeof featureSpecSchema>;

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | null = null;

/**
 * float16 bit pattern → its value, as a 65,536-entry Float32Array (256 KB, built once per process on first
 * use). Float32 holds every float16 value exactly, so `table[bits]` is exactly the float16 value.
 */
function float16Table(): Float32Array {
  if (halfTable === null) {
    const t = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) t[h] = halfToFloat(h);
    halfTable = t;
  }
  return halfTable;
}

/** The exact value of the IEEE 754 binary16 number with bit pattern `bits` (0 … 0xffff). */
export function decodeFloat16(bits: number): number {
  return float16Table()[bits & 0xffff] as number;
}

/**
 * A decoded matrix, row-major. float16 files stay float16 in memory (`half`: the raw bit patterns, 2 bytes
 * per weight, read through `float16Table()`); float32 files are kept as a Float32Array (`single`). The
 * weights are far larger than the CPU cache, and fetching them dominates the model's time: 2-byte weights
 * halve both the memory and the cache lines a prediction touches. Exactly one of the two is set.
 */
type Weights = { readonly half: Uint16Array; readonly single: null } | { readonly half: null; readonly single: Float32Array };

/** Bytes of the ArrayBuffer behind w (its own, exactly rows × cols × 2 or 4: see decodeMatrix). */
function weightsByteLength(w: Weights): number {
  return (w.half ?? w.single).buffer.byteLength;
}

/** i → W[i], specialised once on the storage kind (for the attribution paths; `linear` reads the arrays directly). */
function weightReader(w: Weights): (i: number) => number {
  if (w.half) {
    const half = w.half;
    const table = float16Table();
    return (i) => table[half[i] as number] as number;
  }
  const single = w.single;
  return (i) => single[i] as number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes a base64 little-endian float16/float32 matrix of `rows × cols` (row-major). The result owns a
 * compact ArrayBuffer of its own: nothing keeps the decoded bytes or the base64 text alive.
 */
function decodeMatrix(m: z.infer<typeof matrixSchema>, what: string): Weights {
  const buf = Buffer.from(m.data, 'base64');
  const [rows, cols] = m.shape;
  const n = rows * cols;
  const width = m.dtype === 'float16' ? 2 : 4;
  if (buf.length !== n * width) {
    throw new ModelLoadError(`ngram.json: ${what} has ${buf.length} bytes, expected ${n * width} (${rows}×${cols} ${m.dtype})`);
  }
  if (width === 2) {
    float16Table();
    const half = new Uint16Array(n);
    if (LITTLE_ENDIAN) new Uint8Array(half.buffer).set(buf);
    else for (let i = 0; i < n; i++) half[i] = buf.readUInt16LE(i * 2);
    return { half, single: null };
  }
  const single = new Float32Array(n);
  if (LITTLE_ENDIAN) new Uint8Array(single.buffer).set(buf);
  else for (let i = 0; i < n; i++) single[i] = buf.readFloatLE(i * 4);
  return { half: null, single };
}

const TOKEN_RE = /[\p{L}\p{N}]+/gu;

/** Normalises text exactly as the Python trainer does (surrogates, max_chars code points, NFKC, lowercase). */
export function normalizeNgramText(text: string, maxChars: number): string {
  let t = typeof text === 'string' ? text : String(text ?? '');
  t = toWellFormed(t);
  if (t.length > maxChars) {
    let units = 0;
    let cps = 0;
    for (const ch of t) {
      if (cps === maxChars) break;
      units += ch.length;
      cps++;
    }
    t = t.slice(0, units);
  }
  return t.normalize('NFKC').toLowerCase();
}

export function ngramTokens(normalized: string): string[] {
  return normalized.match(TOKEN_RE) ?? [];
}

/** Places normalised tokens back in the original text, token by token, up to the first one that does not line up. */
function tokenSpans(text: string, tokens: readonly string[]): Array<readonly [number, number] | null> {
  const spans = new Array<readonly [number, number] | null>(tokens.length).fill(null);
  let t = 0;
  // toWellFormed keeps UTF-16 offsets (one unit in, one unit out)
  for (const m of toWellFormed(String(text)).matchAll(TOKEN_RE)) {
    if (t >= tokens.length) break;
    for (const part of ngramTokens(m[0].normalize('NFKC').toLowerCase())) {
      if (tokens[t] !== part) return spans;
      spans[t++] = [m.index, m.index + m[0].length];
    }
  }
  return spans;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Continues an FNV-1a 32-bit state with the UTF-8 bytes of one code point (state kept as int32). */
function fnvCodePoint(h: number, c: number): number {
  if (c < 0x80) return Math.imul(h ^ c, FNV_PRIME);
  if (c < 0x800) {
    h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
    return Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  if (c < 0x10000) {
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    return Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
  return Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
}

/** Continues an FNV-1a state with the UTF-8 bytes of a well-formed string. */
function fnvString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    h = fnvCodePoint(h, c);
  }
  return h;
}

/** FNV-1a 32-bit over the UTF-8 encoding of `s` (s must be well-formed UTF-16). */
export function fnv1a32(s: string): number {
  return fnvString(FNV_OFFSET, s) >>> 0;
}

const H_WORD = fnvString(FNV_OFFSET, 'w:');
const H_BIGRAM = fnvString(FNV_OFFSET, 'b:');
const H_CHAR = fnvString(FNV_OFFSET, 'c:');
const SPACE = 0x20;

interface CompiledTerm { first: string; rest: string[]; prefix: boolean }

/** Sparse feature vector: parallel arrays of feature index and value (indices unique). */
export interface SparseFeatures { index: Int32Array; value: Float64Array }

/** `a` if it holds `n` values, else a copy of it twice as long (or longer). */
function atLeast<T extends Int32Array | Float64Array>(a: T, n: number): T {
  if (n <= a.length) return a;
  const bigger = new (a.constructor as new (length: number) => T)(Math.max(n, a.length * 2));
  bigger.set(a);
  return bigger;
}

/** A key's first slot; FNV-1a's low bits are well mixed already, the multiply spreads runs of neighbouring buckets. */
const home = (key: number, mask: number) => Math.imul(key, 0x9e3779b1) & mask;

/**
 * int32 key → entry number, 0, 1, 2… in order of first insertion (open addressing over typed arrays
 * reused from one text to the next: the featurizer runs for every ticket on the worker's main thread,
 * and scratch kept across calls leaves the garbage collector nothing to do). Values live in the
 * caller's arrays, indexed by entry number, so they never move when the table grows, and come out in
 * insertion order as a Map's would.
 */
class IntKeyIndex {
  /** entry + 1 per slot, 0 when empty */
  private slots = new Int32Array(16384);
  private keys = new Int32Array(8192);
  private slotOf = new Int32Array(8192);
  size = 0;

  keyAt(entry: number): number {
    return this.keys[entry] as number;
  }

  /** The entry of `key`, a new one (numbered `size − 1` afterwards) if the key was not there. */
  entry(key: number): number {
    if (this.size * 2 >= this.slots.length) this.rehash();
    const mask = this.slots.length - 1;
    let slot = home(key, mask);
    for (let e = (this.slots[slot] as number) - 1; e >= 0; e = (this.slots[slot] as number) - 1) {
      if (this.keys[e] === key) return e;
      slot = (slot + 1) & mask;
    }
    const e = this.size++;
    this.keys = atLeast(this.keys, this.size);
    this.slotOf = atLeast(this.slotOf, this.size);
    this.keys[e] = key;
    this.slotOf[e] = slot;
    this.slots[slot] = e + 1;
    return e;
  }

  clear(): void {
    for (let e = 0; e < this.size; e++) this.slots[this.slotOf[e] as number] = 0;
    this.size = 0;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      let slot = home(this.keys[e] as number, mask);
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = e + 1;
      this.slotOf[e] = slot;
    }
  }
}

/** int32 key (a feature hash) → how often it occurred. */
class Int32Tally {
  readonly index = new IntKeyIndex();
  tallies = new Int32Array(8192);

  add(key: number, by: number): void {
    const before = this.index.size;
    const e = this.index.entry(key);
    if (e === before) {
      this.tallies = atLeast(this.tallies, e + 1);
      this.tallies[e] = by;
    } else this.tallies[e] = (this.tallies[e] as number) + by;
  }
}

/**
 * bucket → the sum of the word block's and of the char block's features in it. Sized by the text, not by
 * `n_buckets`: a dense array per block would be 1 MB that every ticket touches at random, cold in the
 * cache the encoder's thread has just filled.
 */
class BucketSums {
  readonly index = new IntKeyIndex();
  word = new Float64Array(8192);
  char = new Float64Array(8192);

  add(bucket: number, v: number, block: 'word' | 'char'): void {
    const before = this.index.size;
    const e = this.index.entry(bucket);
    if (e === before) {
      this.word = atLeast(this.word, e + 1);
      this.char = atLeast(this.char, e + 1);
      this.word[e] = 0;
      this.char[e] = 0;
    }
    const sums = block === 'word' ? this.word : this.char;
    sums[e] = (sums[e] as number) + v;
  }
}

/**
 * A text's tokens with each distinct one once, in order of first occurrence: `distinct[d]` occurs
 * `count[d]` times, first at token `firstAt[d]`; `nextAt[i]` is the next token equal to token i, or −1.
 */
interface TokenIndex {
  tokens: string[];
  distinct: string[];
  count: number[];
  firstAt: number[];
  nextAt: Int32Array;
  byToken: Map<string, number>;
}

function indexTokens(tokens: string[]): TokenIndex {
  const byToken = new Map<string, number>();
  const distinct: string[] = [];
  const count: number[] = [];
  const firstAt: number[] = [];
  const lastAt: number[] = [];
  const nextAt = new Int32Array(tokens.length).fill(-1);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as string;
    const d = byToken.get(tok);
    if (d === undefined) {
      byToken.set(tok, distinct.length);
      distinct.push(tok);
      count.push(1);
      firstAt.push(i);
      lastAt.push(i);
    } else {
      count[d] = (count[d] as number) + 1;
      nextAt[lastAt[d] as number] = i;
      lastAt[d] = i;
    }
  }
  return { tokens, distinct, count, firstAt, nextAt, byToken };
}

export class NgramFeaturizer {
  private readonly mask: number;
  private readonly terms: CompiledTerm[][];
  private readonly idfAt: ((i: number) => number) | null;

  constructor(private readonly spec: FeatureSpec, private readonly idf: Weights | null) {
    this.mask = spec.n_buckets - 1;
    this.idfAt = idf ? weightReader(idf) : null;
    this.terms = spec.keywords.map((g) => g.terms.map((t) => ({ first: t.tokens[0] ?? '', rest: t.tokens.slice(1), prefix: t.prefix })));
  }

  get nFeatures(): number {
    return this.spec.n_buckets + this.spec.keywords.length;
  }

  // scratch space reused by every call (features() is synchronous, so never shared concurrently)
  private readonly sums = new BucketSums();
  private readonly words = new Int32Tally();
  private readonly chars = new Int32Tally();
  private codePoints = new Int32Array(256);

  /** Adds each feature hash's value (from its tf) to its bucket's sum for `block`. */
  private addBlock(counts: Int32Tally, block: 'word' | 'char'): void {
    // The hot loop reads the idf array itself rather than through idfAt (one closure call per feature).
    const idfHalf = this.idf?.half ?? null;
    const idfSingle = this.idf?.single ?? null;
    const table = idfHalf ? float16Table() : null;
    for (let e = 0; e < counts.index.size; e++) {
      const h = counts.index.keyAt(e);
      const b = h & this.mask;
      let v = 1 + Math.log(counts.tallies[e] as number);
      if (idfHalf && table) v *= table[idfHalf[b] as number] as number;
      else if (idfSingle) v *= idfSingle[b] as number;
      this.sums.add(b, h & 0x80000000 ? -v : v, block);
    }
  }

  /** The value one feature hash with term frequency `tf` adds to its bucket, before block normalisation. */
  rawValue(hash: number, tf: number): number {
    const b = hash & this.mask;
    const v = (1 + Math.log(tf)) * (this.idfAt ? this.idfAt(b) : 1);
    return hash & 0x80000000 ? -v : v;
  }

  bucketOf(hash: number): number {
    return hash & this.mask;
  }

  features(text: string, trace?: FeatureTrace): SparseFeatures {
    const spec = this.spec;
    const tokens = ngramTokens(normalizeNgramText(text, spec.max_chars));
    trace?.tokens(tokens);
    const index = indexTokens(tokens);
    // tf is counted per 32-bit feature hash (as in Python); n-grams are hashed without building strings
    const { words, chars, sums } = this;
    words.index.clear();
    chars.index.clear();
    sums.index.clear();
    this.wordGrams(tokens, trace);
    this.charGrams(index, trace);
    this.addBlock(words, 'word');
    this.addBlock(chars, 'char');
    // each block L2-normalised on its own (a block without features, norm 0, adds nothing)
    let wordSq = 0;
    let charSq = 0;
    const n = sums.index.size;
    for (let e = 0; e < n; e++) {
      wordSq += (sums.word[e] as number) ** 2;
      charSq += (sums.char[e] as number) ** 2;
    }
    const wordNorm = Math.sqrt(wordSq);
    const charNorm = Math.sqrt(charSq);
    trace?.blockNorm('word', wordNorm);
    trace?.blockNorm('char', charNorm);
    const matched = this.keywordGroups(index, trace);
    const value = new Float64Array(n + matched.length);
    const at = new Int32Array(n + matched.length);
    let k = 0;
    for (let e = 0; e < n; e++) {
      const v = (wordNorm > 0 ? (sums.word[e] as number) / wordNorm : 0) + (charNorm > 0 ? (sums.char[e] as number) / charNorm : 0);
      if (v !== 0) {
        at[k] = sums.index.keyAt(e);
        value[k++] = v;
      }
    }
    for (const g of matched) {
      at[k] = spec.n_buckets + g;
      value[k++] = spec.keyword_weight;
    }
    return { index: at.subarray(0, k), value: value.subarray(0, k) };
  }

  /** `w:` unigrams and `b:` bigrams (any word n-gram order the spec names) into `this.words`. */
  private wordGrams(tokens: string[], trace: FeatureTrace | undefined): void {
    const [wMin, wMax] = this.spec.word_ngrams;
    for (let i = 0; i < tokens.length; i++) {
      for (let n = wMin; n <= wMax && i + n <= tokens.length; n++) {
        let h: number;
        if (n === 1) h = fnvString(H_WORD, tokens[i] as string);
        else {
          h = n === 2 ? H_BIGRAM : fnvString(FNV_OFFSET, `n${n}:`);
          for (let j = 0; j < n; j++) {
            if (j > 0) h = fnvCodePoint(h, SPACE);
            h = fnvString(h, tokens[i + j] as string);
          }
        }
        // int32 keys (h | 0): uint32 ones above 2^31 would be heap numbers in V8
        this.words.add(h | 0, 1);
        trace?.word(h >>> 0, i, n);
      }
    }
  }

  /** `c:` code-point n-grams of each distinct token padded with spaces, tallied once per occurrence. */
  private charGrams({ distinct, count }: TokenIndex, trace: FeatureTrace | undefined): void {
    const [cMin, cMax] = this.spec.char_ngrams;
    for (let d = 0; d < distinct.length; d++) {
      const tok = distinct[d] as string;
      const times = count[d] as number;
      // a token has no more code points than UTF-16 units
      const cp = (this.codePoints = atLeast(this.codePoints, tok.length + 2));
      let size = 0;
      cp[size++] = SPACE;
      for (let i = 0; i < tok.length; ) {
        const c = tok.codePointAt(i) as number;
        cp[size++] = c;
        i += c > 0xffff ? 2 : 1;
      }
      cp[size++] = SPACE;
      for (let i = 0; i < size; i++) {
        let h = H_CHAR;
        for (let n = 1; n <= cMax && i + n <= size; n++) {
          h = fnvCodePoint(h, cp[i + n - 1] as number);
          if (n >= cMin) {
            this.chars.add(h | 0, times);
            trace?.char(h >>> 0, tok);
          }
        }
      }
    }
  }

  /** The keyword groups any of whose terms occurs in the text, in group order. */
  private keywordGroups(index: TokenIndex, trace: FeatureTrace | undefined): number[] {
    const matched: number[] = [];
    if (index.tokens.length === 0) return matched;
    this.terms.forEach((group, g) => {
      for (const term of group) {
        const start = firstMatch(term, index);
        if (start < 0) continue;
        matched.push(g);
        trace?.keyword(g, start, 1 + term.rest.length);
        break;
      }
    });
    return matched;
  }
}

/** Token index where `term` first matches, or −1. */
function firstMatch(term: CompiledTerm, { tokens, distinct, firstAt, nextAt, byToken }: TokenIndex): number {
  if (term.rest.length === 0) {
    if (!term.prefix) {
      const d = byToken.get(term.first);
      return d === undefined ? -1 : (firstAt[d] as number);
    }
    // distinct tokens come in order of first occurrence: the first that matches is the earliest
    for (let d = 0; d < distinct.length; d++) if ((distinct[d] as string).startsWith(term.first)) return firstAt[d] as number;
    return -1;
  }
  const d = byToken.get(term.first);
  if (d === undefined) return -1;
  const last = term.rest.length - 1;
  for (let s = firstAt[d] as number; s >= 0; s = nextAt[s] as number) {
    if (s + term.rest.length >= tokens.length) break;
    let ok = true;
    for (let j = 0; j <= last && ok; j++) {
      const tok = tokens[s + 1 + j] as string;
      const want = term.rest[j] as string;
      ok = j === last && term.prefix ? tok.startsWith(want) : tok === want;
    }
    if (ok) return s;
  }
  return -1;
}

/** Records which tokens produced each feature, then splits per-feature contributions over them. */
class ProvenanceTrace implements FeatureTrace {
  tokenList: string[] = [];
  /** word hash → occurrences as [start, n] pairs (flattened). */
  private readonly words = new Map<number, number[]>();
  /** char hash → token string → occurrences of the n-gram inside that token. */
  private readonly chars = new Map<number, Map<string, number>>();
  private readonly keywords: Array<[group: number, start: number, n: number]> = [];
  private wordNorm = 0;
  private charNorm = 0;

  tokens(tokens: readonly string[]): void {
    this.tokenList = tokens.slice();
  }
  word(hash: number, start: number, n: number): void {
    const occ = this.words.get(hash);
    if (occ) occ.push(start, n);
    else this.words.set(hash, [start, n]);
  }
  char(hash: number, token: string): void {
    let inTokens = this.chars.get(hash);
    if (!inTokens) this.chars.set(hash, (inTokens = new Map<string, number>()));
    inTokens.set(token, (inTokens.get(token) ?? 0) + 1);
  }
  blockNorm(block: 'word' | 'char', norm: number): void {
    if (block === 'word') this.wordNorm = norm;
    else this.charNorm = norm;
  }
  keyword(group: number, start: number, n: number): void {
    this.keywords.push([group, start, n]);
  }

  /** Per token, Σ over the features it produced of (its share of) x_j · grad(j). */
  spread(featurizer: NgramFeaturizer, nBuckets: number, keywordWeight: number, grad: (j: number) => number): Float64Array {
    const out = new Float64Array(this.tokenList.length);
    const gradOf = new Map<number, number>();
    const g = (j: number) => {
      let v = gradOf.get(j);
      if (v === undefined) gradOf.set(j, (v = grad(j)));
      return v;
    };
    if (this.wordNorm > 0) {
      for (const [hash, occ] of this.words) {
        const tf = occ.length / 2;
        const share = (featurizer.rawValue(hash, tf) / this.wordNorm) * g(featurizer.bucketOf(hash)) / tf;
        for (let i = 0; i < occ.length; i += 2) {
          const start = occ[i] as number;
          const n = occ[i + 1] as number;
          for (let t = start; t < start + n; t++) out[t] = (out[t] as number) + share / n;
        }
      }
    }
    if (this.charNorm > 0) {
      const positions = new Map<string, number[]>();
      this.tokenList.forEach((t, i) => {
        const p = positions.get(t);
        if (p) p.push(i);
        else positions.set(t, [i]);
      });
      for (const [hash, inTokens] of this.chars) {
        let tf = 0;
        for (const [tok, times] of inTokens) tf += times * (positions.get(tok)?.length ?? 0);
        const perOccurrence = (featurizer.rawValue(hash, tf) / this.charNorm) * g(featurizer.bucketOf(hash)) / tf;
        for (const [tok, times] of inTokens) for (const t of positions.get(tok) ?? []) out[t] = (out[t] as number) + perOccurrence * times;
      }
    }
    for (const [group, start, n] of this.keywords) {
      const share = (keywordWeight * g(nBuckets + group)) / n;
      for (let t = start; t < start + n; t++) out[t] = (out[t] as number) + share;
    }
    return out;
  }
}

/** logits[k] = intercept[k] + Σ_j x_j · W[j, k] with W stored feature-major ([features, outputs]). */
function linear(x: SparseFeatures, w: Weights, intercept: readonly number[]): number[] {
  return w.half ? linearHalf(x, w.half, intercept) : linearSingle(x, w.single, intercept);
}

// The two storage kinds get a loop each, so the per-weight read stays a plain typed-array load. The sums
// build up in a Float64Array: V8 boxes every double stored into a plain array it cannot prove holds only
// doubles, one heap number per feature and output (~150 KB of garbage per ticket, measured).
function linearHalf(x: SparseFeatures, w: Uint16Array, intercept: readonly number[]): number[] {
  const table = float16Table();
  const k = intercept.length;
  const out = Float64Array.from(intercept);
  for (let i = 0; i < x.index.length; i++) {
    const base = (x.index[i] as number) * k;
    const v = x.value[i] as number;
    for (let c = 0; c < k; c++) out[c] = (out[c] as number) + v * (table[w[base + c] as number] as number);
  }
  return Array.from(out);
}

function linearSingle(x: SparseFeatures, w: Float32Array, intercept: readonly number[]): number[] {
  const k = intercept.length;
  const out = Float64Array.from(intercept);
  for (let i = 0; i < x.index.length; i++) {
    const base = (x.index[i] as number) * k;
    const v = x.value[i] as number;
    for (let c = 0; c < k; c++) out[c] = (out[c] as number) + v * (w[base + c] as number);
  }
  return Array.from(out);
}

export function softmax(logits: readonly number[]): number[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** ngram.json decoded: its matrices in their own typed arrays, nothing of their base64 text left. */
interface DecodedNgram {
  spec: FeatureSpec;
  qW: Weights;
  queueIntercept: number[];
  uW: Weights;
  urgency: { kind: 'expected' | 'linear'; values: number[]; intercept: number[] };
  idf: Weights | null;
}

function decodeNgram(doc: unknown, source: string): DecodedNgram {
  const parsed = ngramSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ModelLoadError(`${source} is not a valid n-gram model: ${z.prettifyError(parsed.error)}`);
  }
  const spec = parsed.data;
  if ((spec.n_buckets & (spec.n_buckets - 1)) !== 0) throw new ModelLoadError(`${source}: n_buckets ${spec.n_buckets} is not a power of two`);
  const nf = spec.n_buckets + spec.keywords.length;
  const L = spec.labels.length;
  const check = (m: z.infer<typeof matrixSchema>, cols: number, what: string): Weights => {
    if (m.shape[0] !== nf || m.shape[1] !== cols) {
      throw new ModelLoadError(`${source}: ${what} has shape ${m.shape.join('×')}, expected ${nf}×${cols}`);
    }
    return decodeMatrix(m, what);
  };
  if (spec.queue.intercept.length !== L) throw new ModelLoadError(`${source}: queue.intercept has ${spec.queue.intercept.length} values for ${L} labels`);
  const qW = check(spec.queue.coef, L, 'queue.coef');
  const u = spec.urgency;
  const uCols = u.kind === 'expected' ? u.values.length : 1;
  if (u.intercept.length !== uCols) throw new ModelLoadError(`${source}: urgency.intercept has ${u.intercept.length} values, expected ${uCols}`);
  const uW = check(u.coef, uCols, 'urgency.coef');
  let idf: Weights | null = null;
  if (spec.idf) {
    if (spec.idf.shape[0] !== spec.n_buckets || spec.idf.shape[1] !== 1) throw new ModelLoadError(`${source}: idf has shape ${spec.idf.shape.join('×')}, expected ${spec.n_buckets}×1`);
    idf = decodeMatrix(spec.idf, 'idf');
  }
  // A fresh object of the feature fields only: the model keeps no reference to the ≈5 MB of base64 strings.
  return {
    spec: featureSpecSchema.parse(spec),
    qW,
    queueIntercept: spec.queue.intercept,
    uW,
    urgency: { kind: u.kind, values: u.kind === 'expected' ? u.values : [], intercept: u.intercept },
    idf,
  };
}

/** Builds an n-gram model from parsed ngram.json content. Throws ModelLoadError on a malformed document. */
export function ngramModelFromJson(doc: unknown, source = 'ngram.json'): NgramModel {
  const { spec, qW, queueIntercept, uW, urgency: u, idf } = decodeNgram(doc, source);
  const L = spec.labels.length;
  const featurizer = new NgramFeaturizer(spec, idf);
  const qAt = weightReader(qW);
  const uAt = weightReader(uW);
  const labels = Object.freeze(spec.labels.slice());
  return {
    labels,
    weightBytes: weightsByteLength(qW) + weightsByteLength(uW) + (idf ? weightsByteLength(idf) : 0),
    predictProba(text: string): number[] {
      return softmax(linear(featurizer.features(text), qW, queueIntercept));
    },
    predictUrgency(text: string): number {
      return urgencyOf(featurizer.features(text));
    },
    predict(text: string): { proba: number[]; urgency: number } {
      const x = featurizer.features(text);
      return { proba: softmax(linear(x, qW, queueIntercept)), urgency: urgencyOf(x) };
    },
    attribute(text: string, label: number): NgramAttribution {
      if (!Number.isInteger(label) || label < 0 || label >= L) throw new RangeError(`label ${label} is not one of the ${L} queues`);
      const trace = new ProvenanceTrace();
      const x = featurizer.features(text, trace);
      const proba = softmax(linear(x, qW, queueIntercept));
      const urgency = urgencyOf(x);
      // ∂p_c/∂x_j = p_c·(W[j,c] − Σ_k p_k W[j,k])
      const pc = proba[label] as number;
      const queueGrad = (j: number) => {
        let mean = 0;
        for (let k = 0; k < L; k++) mean += (proba[k] as number) * qAt(j * L + k);
        return pc * (qAt(j * L + label) - mean);
      };
      const urgencyGrad = urgencyGradient(x);
      return {
        tokens: trace.tokenList,
        spans: tokenSpans(text, trace.tokenList),
        proba,
        urgency,
        queue: trace.spread(featurizer, spec.n_buckets, spec.keyword_weight, queueGrad),
        urgencyEvidence: trace.spread(featurizer, spec.n_buckets, spec.keyword_weight, urgencyGrad),
      };
    },
  };

  /** ∂urgency/∂x_j as a function of j, at the point x. */
  function urgencyGradient(x: SparseFeatures): (j: number) => number {
    const out = linear(x, uW, u.intercept);
    if (u.kind === 'linear') {
      const raw = out[0] as number;
      return raw <= 0 || raw >= 1 ? () => 0 : uAt;
    }
    // urgency = Σ_k softmax(z)_k v_k → ∂/∂z_k = p_k (v_k − urgency)
    const p = softmax(out);
    const mean = p.reduce((acc, pk, k) => acc + pk * (u.values[k] as number), 0);
    const dz = p.map((pk, k) => pk * ((u.values[k] as number) - mean));
    const C = dz.length;
    return (j) => {
      let g = 0;
      for (let k = 0; k < C; k++) g += (dz[k] as number) * uAt(j * C + k);
      return g;
    };
  }

  function urgencyOf(x: SparseFeatures): number {
    const out = linear(x, uW, u.intercept);
    let score: number;
    if (u.kind === 'expected') {
      const p = softmax(out);
      score = p.reduce((acc, pk, k) => acc + pk * (u.values[k] as number), 0);
    } else {
      score = out[0] as number;
    }
    return Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0.5;
  }
}

/** Loads `ngram.json` from disk. Throws ModelLoadError naming the file when it is missing or corrupt. */
export function loadNgramModel(path: string): NgramModel {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelLoadError(`cannot read n-gram model ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw new ModelLoadError(`n-gram model ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return ngramModelFromJson(doc, path);
}
