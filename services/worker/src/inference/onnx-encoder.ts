/**
 * Loads a model bundle's ONNX encoder (docs/model-contract.md) with onnxruntime-node and the bundle's
 * tokenizer.json (local files only): read in JavaScript when it is a Unigram tokenizer like the shipped
 * one (unigram-tokenizer.ts), else by the Hugging Face `tokenizers` binding. Only the worker's
 * inference thread loads this module: the gateway and the worker's main thread never pay for onnxruntime.
 *
 * One call to `run` is one onnxruntime run: the batching decision (which texts, how many) belongs to
 * the inference client alone, which groups texts of similar length so padding stays small.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type ModelConfig, ModelLoadError, toWellFormed } from '@triage/shared/model-runtime';
import { unigramTokenizerFrom } from './unigram-tokenizer';

/** The graph's raw answer for one text: queue probabilities over config.labels, urgency, embedding. */
export interface EncoderOutput {
  probs: Float32Array;
  urgency: number;
  embedding: Float32Array;
  /** Input length in tokens after truncation (drift monitoring). */
  tokens: number;
}

export interface OnnxEncoder {
  readonly config: ModelConfig;
  run(texts: string[]): Promise<EncoderOutput[]>;
  /** See TriageModel.inView. */
  inView(text: string, cuts: readonly number[]): Promise<number>;
  dispose(): Promise<void>;
}

export interface LoadOnnxEncoderOptions {
  /**
   * The bundle's config.json, parsed by the caller (readModelConfig): the inference thread gets it in
   * its workerData and never loads the schema library itself.
   */
  config: ModelConfig;
  /** onnxruntime intra-op threads (default 1: the worker scales by processes, not threads). */
  intraOpThreads?: number;
}

/** Texts longer than this (UTF-16 units) are cut on input (the n-gram model reads ≤ 20,000 code points). */
const MAX_TEXT_CHARS = 50_000;
/**
 * The tokenizer sees at most this many UTF-16 units per token of max_length: truncation keeps the first
 * max_length tokens anyway, and a pathological 50k-character "word" would otherwise cost ~50 ms of
 * Viterbi segmentation. Only texts averaging > 64 characters per token could tokenise differently.
 */
const TOKENIZER_CHARS_PER_TOKEN = 64;
const REQUIRED_OUTPUTS = ['queue_probs', 'urgency', 'embedding'] as const;

function tokenizerInput(text: string, cap: number): string {
  // lone surrogates (from the cut or from broken input) become U+FFFD
  return toWellFormed(text.length > cap ? text.slice(0, cap) : text);
}

/** A bundle's tokenizer: token ids per text, special tokens included, cut to max_length. */
interface BundleTokenizer {
  ids(texts: string[]): Promise<number[][]>;
  tokenToId(token: string): number | undefined;
}

function loadTokenizer(path: string, maxLength: number): BundleTokenizer {
  if (!existsSync(path)) throw new ModelLoadError(`tokenizer missing: ${path}`);
  try {
    const unigram = unigramTokenizerFrom(JSON.parse(readFileSync(path, 'utf8')), maxLength);
    if (unigram) return { ids: async (texts) => texts.map((t) => unigram.encode(t)), tokenToId: (token) => unigram.tokenToId(token) };
    // Loaded only for the tokenizer types the JavaScript one does not implement (WordPiece, BPE…).
    const { Tokenizer } = createRequire(__filename)('tokenizers') as typeof import('tokenizers');
    const tokenizer = Tokenizer.fromFile(path);
    tokenizer.disablePadding();
    // max_length counts the special tokens the post-processor adds
    tokenizer.setTruncation(maxLength);
    return {
      ids: async (texts) => (await tokenizer.encodeBatch(texts)).map((e) => e.getIds()),
      tokenToId: (token) => tokenizer.tokenToId(token) ?? undefined,
    };
  } catch (err) {
    throw new ModelLoadError(`tokenizer ${path} cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
}

async function createSession(path: string, names: readonly string[], intraOpThreads: number): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new ModelLoadError(`ONNX model missing: ${path}`);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: Math.max(1, Math.floor(intraOpThreads)),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // A memory pattern plans one block per input shape; with every ticket a different length the
      // arena grows to hold the largest of them and keeps it. Without it the tensors come from the
      // arena one by one: 14-25 MB less per worker, same CPU per text (docs/performance.md, session 7).
      enableMemPattern: false,
    });
  } catch (err) {
    throw new ModelLoadError(`ONNX model ${path} cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
  const missing =
    names.filter((n) => !session.inputNames.includes(n)).map((n) => `no input "${n}" (inputs: ${session.inputNames.join(', ')})`)[0] ??
    REQUIRED_OUTPUTS.filter((n) => !session.outputNames.includes(n)).map((n) => `no output "${n}" (outputs: ${session.outputNames.join(', ')})`)[0];
  if (missing) {
    await session.release().catch(() => undefined);
    throw new ModelLoadError(`ONNX model ${path} has ${missing}`);
  }
  return session;
}

/**
 * Loads `dir` (tokenizer.json and the ONNX graph its config names) and runs one warm-up that also checks
 * the graph's outputs against the config. Throws ModelLoadError naming the missing or corrupt file.
 */
export async function loadOnnxEncoder(dir: string, options: LoadOnnxEncoderOptions): Promise<OnnxEncoder> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new ModelLoadError(`model directory not found: ${root}`);
  const { config } = options;
  const modelInputs = config.model_inputs ?? ['input_ids', 'attention_mask'];
  const tokenizer = loadTokenizer(join(root, 'tokenizer.json'), config.max_length);
  const padId = BigInt(config.pad_token_id ?? tokenizer.tokenToId('<pad>') ?? tokenizer.tokenToId('[PAD]') ?? 0);
  const session = await createSession(join(root, config.onnx_file ?? 'onnx/model_quantized.onnx'), modelInputs, options.intraOpThreads ?? 1);
  const L = config.labels.length;
  const cap = Math.min(MAX_TEXT_CHARS, Math.max(1024, config.max_length * TOKENIZER_CHARS_PER_TOKEN));

  async function runOnce(texts: string[]): Promise<EncoderOutput[]> {
    const ids = await tokenizer.ids(texts.map((t) => tokenizerInput(t, cap)));
    const n = texts.length;
    const seq = Math.max(1, ...ids.map((x) => x.length));
    const inputIds = new BigInt64Array(n * seq).fill(padId);
    const mask = new BigInt64Array(n * seq);
    ids.forEach((row, i) => {
      row.forEach((id, j) => {
        inputIds[i * seq + j] = BigInt(id);
        mask[i * seq + j] = 1n;
      });
      if (row.length === 0) mask[i * seq] = 1n; // never an all-masked row
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [n, seq]),
      attention_mask: new ort.Tensor('int64', mask, [n, seq]),
    };
    if (modelInputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n * seq), [n, seq]);
    const out = await session.run(feeds, [...REQUIRED_OUTPUTS]);
    const probs = out.queue_probs as ort.Tensor;
    const urgency = (out.urgency as ort.Tensor).data as Float32Array;
    const emb = out.embedding as ort.Tensor;
    if (probs.dims.length !== 2 || probs.dims[0] !== n || probs.dims[1] !== L) {
      throw new ModelLoadError(`ONNX output queue_probs has shape [${probs.dims.join(', ')}], expected [${n}, ${L}] (config.json labels)`);
    }
    const hidden = emb.dims[1] ?? 0;
    const pData = probs.data as Float32Array;
    const eData = emb.data as Float32Array;
    return texts.map((_, i) => ({
      probs: pData.slice(i * L, (i + 1) * L),
      urgency: urgency[i] ?? 0.5,
      embedding: eData.slice(i * hidden, (i + 1) * hidden),
      tokens: ids[i]!.length,
    }));
  }

  // A prefix ending at a word is tokenised as the whole text's first tokens (words are split before the
  // pieces are looked up); it was read whole when its ids, special tokens included, stay under max_length.
  const readWhole = async (prefix: string) => ((await tokenizer.ids([tokenizerInput(prefix, cap)]))[0]?.length ?? 0) < config.max_length;

  /** The first cut whose prefix does not fit, by bisection: a longer prefix never has fewer tokens. */
  async function inView(text: string, cuts: readonly number[]): Promise<number> {
    let fits = 0;
    let overflows = cuts.length;
    if (overflows === 0 || (await readWhole(text.slice(0, cuts[overflows - 1])))) return overflows;
    overflows -= 1;
    while (fits < overflows) {
      const mid = (fits + overflows) >> 1;
      if (await readWhole(text.slice(0, cuts[mid]))) fits = mid + 1;
      else overflows = mid;
    }
    return fits;
  }

  // one run at a time per session (onnxruntime already uses the configured threads)
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;
  const encoder: OnnxEncoder = {
    config,
    run(texts: string[]): Promise<EncoderOutput[]> {
      if (disposed) return Promise.reject(new Error('ONNX encoder has been disposed'));
      if (!Array.isArray(texts) || texts.length === 0) return Promise.resolve([]);
      const run = queue.then(() => runOnce(texts));
      queue = run.catch(() => undefined);
      return run;
    },
    inView,
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await queue;
      await session.release();
    },
  };

  try {
    await encoder.run(['warm-up']);
  } catch (err) {
    await session.release().catch(() => undefined);
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`model ${root} fails its warm-up prediction: ${(err as Error).message}`, { cause: err });
  }
  return encoder;
}
