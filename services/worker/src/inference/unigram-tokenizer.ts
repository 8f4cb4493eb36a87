/**
 * The shipped bundle's tokenizer (SentencePiece Unigram with Metaspace words, as multilingual-e5 and
 * XLM-R use) read from its Hugging Face `tokenizer.json` and run in JavaScript. The native `tokenizers`
 * binding keeps ~40 MB of Rust structures for a 40,000-piece vocabulary; this keeps one Map. Files of
 * any other shape (WordPiece, BPE, other normalizers) return null and the caller uses the binding.
 * `unigram-tokenizer.test.ts` holds the ids equal to the binding's on every ticket of ../shared/data.
 */

/** The ids of one text, special tokens included, cut to the tokenizer's max length. */
export interface TextTokenizer {
  encode(text: string): number[];
  tokenToId(token: string): number | undefined;
}

/** SentencePiece's penalty for an unknown character, below the lowest piece score. */
const UNK_PENALTY = 10;
/** Words whose pieces are remembered (~5 MB of heap): tickets repeat most of their words, and a cache hit is ~5× cheaper than the Viterbi search. */
const WORD_CACHE_SIZE = 20_000;

type Normalize = (text: string) => string;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `text` as a RegExp source that matches exactly it. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A Rust-regex character class or literal from the file, as a JavaScript RegExp (null: not understood). */
function jsPattern(pattern: unknown): RegExp | null {
  if (!isObject(pattern)) return null;
  if (typeof pattern.String === 'string') return new RegExp(literal(pattern.String), 'gu');
  if (typeof pattern.Regex !== 'string') return null;
  try {
    return new RegExp(pattern.Regex.replace(/\\x\{([0-9a-fA-F]+)\}/g, '\\u{$1}'), 'gu');
  } catch {
    return null;
  }
}

function normalizerOf(spec: unknown): Normalize | null {
  if (spec === null || spec === undefined) return (t) => t;
  if (!isObject(spec)) return null;
  switch (spec.type) {
    case 'Sequence': {
      if (!Array.isArray(spec.normalizers)) return null;
      const steps = spec.normalizers.map(normalizerOf);
      if (steps.some((s) => s === null)) return null;
      return (t) => (steps as Normalize[]).reduce((acc, step) => step(acc), t);
    }
    case 'Replace': {
      const re = jsPattern(spec.pattern);
      if (!re || typeof spec.content !== 'string') return null;
      const content = spec.content;
      return (t) => t.replace(re, () => content);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = spec.type;
      return (t) => t.normalize(form);
    }
    default:
      return null;
  }
}

/** `<s> A </s>`: the ids before and after the sequence, or null for another template. */
function templateOf(spec: unknown): { before: number[]; after: number[] } | null {
  if (!isObject(spec) || spec.type !== 'TemplateProcessing' || !Array.isArray(spec.single) || !isObject(spec.special_tokens)) return null;
  const specials = spec.special_tokens;
  const before: number[] = [];
  const after: number[] = [];
  let seenSequence = false;
  for (const piece of spec.single as unknown[]) {
    if (!isObject(piece)) return null;
    if (isObject(piece.Sequence)) {
      if (seenSequence || piece.Sequence.id !== 'A') return null;
      seenSequence = true;
    } else if (isObject(piece.SpecialToken) && typeof piece.SpecialToken.id === 'string') {
      const special = specials[piece.SpecialToken.id];
      if (!isObject(special) || !Array.isArray(special.ids)) return null;
      (seenSequence ? after : before).push(...(special.ids as number[]));
    } else return null;
  }
  return seenSequence ? { before, after } : null;
}

/**
 * Parses a tokenizer.json; null when it is not the Unigram + Metaspace shape this implements exactly
 * (the caller then falls back to the `tokenizers` binding).
 */
export function unigramTokenizerFrom(file: unknown, maxLength: number): TextTokenizer | null {
  if (!isObject(file) || !isObject(file.model) || !isObject(file.pre_tokenizer)) return null;
  const { model, pre_tokenizer: pre } = file;
  if (model.type !== 'Unigram' || model.byte_fallback === true || !Array.isArray(model.vocab) || typeof model.unk_id !== 'number') return null;
  if (pre.type !== 'Metaspace' || pre.prepend_scheme !== 'always' || pre.split !== true || typeof pre.replacement !== 'string') return null;
  const normalizer = normalizerOf(file.normalizer);
  const template = templateOf(file.post_processor);
  if (!normalizer || !template) return null;
  const normalize: Normalize = normalizer;
  const added = Array.isArray(file.added_tokens) ? (file.added_tokens as Json[]) : [];
  // Added tokens are cut out of the raw text first; only plain special ones are implemented.
  if (added.some((t) => t.special !== true || t.normalized !== false || t.lstrip || t.rstrip || t.single_word)) return null;

  const pieces = new Map<string, { id: number; score: number }>();
  let minScore = Infinity;
  let longest = 0;
  (model.vocab as [string, number][]).forEach(([piece, score], id) => {
    pieces.set(piece, { id, score });
    minScore = Math.min(minScore, score);
    longest = Math.max(longest, [...piece].length);
  });
  const unkId = model.unk_id;
  const unkScore = minScore - UNK_PENALTY;
  const replacement = pre.replacement;
  const addedIds = new Map(added.map((t) => [String(t.content), Number(t.id)]));
  // longest first, so one added token that contains another is matched whole
  const addedPattern = addedIds.size === 0 ? null : new RegExp([...addedIds.keys()].sort((a, b) => b.length - a.length).map(literal).join('|'), 'g');

  const cache = new Map<string, number[]>();

  /** Viterbi over code points: the segmentation with the highest total score; unknown runs fuse into one <unk>. */
  function segment(word: string): number[] {
    const chars = [...word];
    const offsets = [0];
    for (const c of chars) offsets.push(offsets[offsets.length - 1]! + c.length);
    const n = chars.length;
    const score = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1).fill(-1);
    score[0] = 0;
    for (let start = 0; start < n; start++) {
      let single = false;
      for (let len = 1; len <= longest && start + len <= n; len++) {
        const piece = pieces.get(word.slice(offsets[start], offsets[start + len]));
        if (!piece) continue;
        const candidate = score[start]! + piece.score;
        if (ids[start + len] === -1 || candidate > score[start + len]!) {
          score[start + len] = candidate;
          from[start + len] = start;
          ids[start + len] = piece.id;
        }
        if (len === 1) single = true;
      }
      if (!single) {
        const candidate = score[start]! + unkScore;
        if (ids[start + 1] === -1 || candidate > score[start + 1]!) {
          score[start + 1] = candidate;
          from[start + 1] = start;
          ids[start + 1] = unkId;
        }
      }
    }
    const out: number[] = [];
    for (let end = n; end > 0; end = from[end]!) {
      const id = ids[end]!;
      if (!(id === unkId && out[out.length - 1] === unkId)) out.push(id);
    }
    return out.reverse();
  }

  function wordIds(word: string): number[] {
    let ids = cache.get(word);
    if (!ids) {
      if (cache.size >= WORD_CACHE_SIZE) cache.clear();
      ids = segment(word);
      cache.set(word, ids);
    }
    return ids;
  }

  function encodeSegment(raw: string, into: number[]): void {
    let text = normalize(raw).replaceAll(' ', replacement);
    if (text.length === 0) return;
    if (!text.startsWith(replacement)) text = replacement + text;
    // every word starts at a replacement character (SplitDelimiterBehavior::MergedWithNext)
    let start = 0;
    for (let at = text.indexOf(replacement, 1); at !== -1; at = text.indexOf(replacement, at + replacement.length)) {
      into.push(...wordIds(text.slice(start, at)));
      start = at;
    }
    into.push(...wordIds(text.slice(start)));
  }

  const room = Math.max(0, maxLength - template.before.length - template.after.length);
  return {
    encode(text: string): number[] {
      const ids: number[] = [];
      let last = 0;
      for (const match of addedPattern ? text.matchAll(addedPattern) : []) {
        encodeSegment(text.slice(last, match.index), ids);
        ids.push(addedIds.get(match[0])!);
        last = match.index + match[0].length;
      }
      encodeSegment(text.slice(last), ids);
      return [...template.before, ...ids.slice(0, room), ...template.after];
    },
    tokenToId: (token) => pieces.get(token)?.id,
  };
}
