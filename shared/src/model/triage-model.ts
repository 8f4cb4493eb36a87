/**
 * Loads a triage model directory (docs/model-contract.md) and serves batched predictions with
 * onnxruntime-node + Hugging Face `tokenizers` (local files only).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { z } from 'zod';
import { ModelLoadError } from './errors';
import { toWellFormed } from './text';
import { loadNgramModel, type NgramModel } from './ngram-model';

export interface QueueProbability {
  category: string;
  probability: number;
}

export interface TriagePrediction {
  category: string;
  confidence: number;
  top3: QueueProbability[];
  urgency: number;
  embedding: number[];
  modelVersion: string;
}

export interface ModelConfig {
  model_version: string;
  labels: string[];
  max_length: number;
  alert_threshold: number;
  action_thresholds?: { auto_route: number; human_review: number };
  [k: string]: unknown;
}

export interface TriageModel {
  readonly modelVersion: string;
  readonly labels: readonly string[];
  readonly config: ModelConfig;
  predict(texts: string[]): Promise<TriagePrediction[]>;
  dispose(): Promise<void>;
}

export interface LoadTriageModelOptions {
  /** onnxruntime intra-op threads (default 1: the worker scales by processes, not threads). */
  intraOpThreads?: number;
}

const blendSchema = z.object({
  queue_encoder_weight: z.number().min(0).max(1),
  urgency_encoder_weight: z.number().min(0).max(1),
  temperature: z.number().positive(),
});

const configSchema = z.looseObject({
  model_version: z.string().min(1),
  labels: z.array(z.string().min(1)).min(1),
  max_length: z.number().int().min(3),
  alert_threshold: z.number().min(0).max(1),
  action_thresholds: z.object({ auto_route: z.number(), human_review: z.number() }).optional(),
  pad_token_id: z.number().int().min(0).optional(),
  model_inputs: z.array(z.enum(['input_ids', 'attention_mask', 'token_type_ids'])).optional(),
  onnx_file: z.string().min(1).optional(),
  blend: blendSchema.nullable().optional(),
});

/** Texts longer than this (UTF-16 units) are cut on input (the n-gram model reads ≤ 20,000 code points). */
const MAX_TEXT_CHARS = 50_000;
/**
 * The tokenizer sees at most this many UTF-16 units per token of max_length: truncation keeps the first
 * max_length tokens anyway, and a pathological 50k-character "word" would otherwise cost ~50 ms of
 * Viterbi segmentation. Only texts averaging > 64 characters per token could tokenise differently.
 */
const TOKENIZER_CHARS_PER_TOKEN = 64;
/** Texts per onnxruntime run; a request is sorted by length and chunked so padding stays small. */
const MAX_BATCH = 16;
const REQUIRED_OUTPUTS = ['queue_probs', 'urgency', 'embedding'] as const;

/** Reads and validates a model directory's config.json; throws ModelLoadError naming what is wrong. */
export function readModelConfig(dir: string): ModelConfig & z.infer<typeof configSchema> {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ModelLoadError(`model config missing: ${path}`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`model config ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ModelLoadError(`model config ${path} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  if (new Set(parsed.data.labels).size !== parsed.data.labels.length) {
    throw new ModelLoadError(`model config ${path} has duplicate labels`);
  }
  return parsed.data;
}

function sanitize(text: unknown): string {
  let t = typeof text === 'string' ? text : String(text ?? '');
  if (t.length > MAX_TEXT_CHARS) t = t.slice(0, MAX_TEXT_CHARS);
  // lone surrogates (e.g. from the slice above or from broken input) become U+FFFD
  return toWellFormed(t);
}

function l2normalize(v: number[]): number[] {
  let sq = 0;
  for (const x of v) sq += x * x;
  const n = Math.sqrt(sq);
  return n > 0 && Number.isFinite(n) ? v.map((x) => x / n) : v;
}

function normalizeProbs(p: number[]): number[] {
  const clean = p.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  return sum > 0 ? clean.map((x) => x / sum) : clean.map(() => 1 / clean.length);
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}

/**
 * Loads `dir` (config.json, tokenizer.json, the ONNX graph, and ngram.json when `blend` is set) and runs
 * one warm-up prediction that also checks the graph's outputs against the config.
 * Throws ModelLoadError with a message naming the missing or corrupt file.
 */
export async function loadTriageModel(dir: string, options: LoadTriageModelOptions = {}): Promise<TriageModel> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ModelLoadError(`model directory not found: ${root}`);
  }
  const config = readModelConfig(root);
  const labels = Object.freeze(config.labels.slice());
  const modelInputs = config.model_inputs ?? ['input_ids', 'attention_mask'];
  const feedTokenTypes = modelInputs.includes('token_type_ids');

  const tokPath = join(root, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new ModelLoadError(`tokenizer missing: ${tokPath}`);
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromFile(tokPath);
    tokenizer.disablePadding();
    // max_length counts the special tokens the post-processor adds
    tokenizer.setTruncation(config.max_length);
  } catch (err) {
    throw new ModelLoadError(`tokenizer ${tokPath} cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
  const padId = config.pad_token_id ?? tokenizer.tokenToId('<pad>') ?? tokenizer.tokenToId('[PAD]') ?? 0;

  let ngram: NgramModel | null = null;
  let ngramIndex: number[] = [];
  if (config.blend) {
    ngram = loadNgramModel(join(root, 'ngram.json'));
    const model = ngram;
    ngramIndex = labels.map((l) => {
      const i = model.labels.indexOf(l);
      if (i < 0) throw new ModelLoadError(`${join(root, 'ngram.json')} has no label "${l}" (config.json labels)`);
      return i;
    });
  }

  const onnxPath = join(root, config.onnx_file ?? 'onnx/model_quantized.onnx');
  if (!existsSync(onnxPath)) throw new ModelLoadError(`ONNX model missing: ${onnxPath}`);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxPath, {
      intraOpNumThreads: Math.max(1, Math.floor(options.intraOpThreads ?? 1)),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new ModelLoadError(`ONNX model ${onnxPath} cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
  for (const name of modelInputs) {
    if (!session.inputNames.includes(name)) {
      await session.release().catch(() => undefined);
      throw new ModelLoadError(`ONNX model ${onnxPath} has no input "${name}" (inputs: ${session.inputNames.join(', ')})`);
    }
  }
  for (const name of REQUIRED_OUTPUTS) {
    if (!session.outputNames.includes(name)) {
      await session.release().catch(() => undefined);
      throw new ModelLoadError(`ONNX model ${onnxPath} has no output "${name}" (outputs: ${session.outputNames.join(', ')})`);
    }
  }

  const modelVersion = config.model_version;
  const blend = config.blend ?? null;

  async function runChunk(texts: string[]): Promise<TriagePrediction[]> {
    const cap = Math.max(1024, config.max_length * TOKENIZER_CHARS_PER_TOKEN);
    const encodings = await tokenizer.encodeBatch(texts.map((t) => (t.length > cap ? toWellFormed(t.slice(0, cap)) : t)));
    const ids = encodings.map((e) => e.getIds());
    const seq = Math.max(1, ...ids.map((x) => x.length));
    const n = texts.length;
    const inputIds = new BigInt64Array(n * seq).fill(BigInt(padId));
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
    if (feedTokenTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n * seq), [n, seq]);
    const out = await session.run(feeds, [...REQUIRED_OUTPUTS]);
    const probs = out.queue_probs as ort.Tensor;
    const urg = out.urgency as ort.Tensor;
    const emb = out.embedding as ort.Tensor;
    const L = labels.length;
    if (probs.dims.length !== 2 || probs.dims[0] !== n || probs.dims[1] !== L) {
      throw new ModelLoadError(`ONNX output queue_probs has shape [${probs.dims.join(', ')}], expected [${n}, ${L}] (config.json labels)`);
    }
    const hidden = emb.dims[1] ?? 0;
    const pData = probs.data as Float32Array;
    const uData = urg.data as Float32Array;
    const eData = emb.data as Float32Array;
    return texts.map((text, i) => {
      let p = Array.from(pData.subarray(i * L, (i + 1) * L));
      let u = uData[i] ?? 0.5;
      if (ngram && blend) {
        const ng = ngram.predict(text);
        const w = blend.queue_encoder_weight;
        // as training/metrics.power_calibrate: clip to [1e-12, 1], power 1/t, renormalise
        p = normalizeProbs(p.map((pe, k) => Math.pow(Math.min(1, Math.max(1e-12, w * pe + (1 - w) * (ng.proba[ngramIndex[k] as number] ?? 0))), 1 / blend.temperature)));
        u = blend.urgency_encoder_weight * u + (1 - blend.urgency_encoder_weight) * ng.urgency;
      } else {
        p = normalizeProbs(p);
      }
      const ranked = p.map((probability, k) => ({ category: labels[k] as string, probability })).sort((a, b) => b.probability - a.probability);
      const best = ranked[0] as QueueProbability;
      return {
        category: best.category,
        confidence: best.probability,
        top3: ranked.slice(0, 3),
        urgency: clamp01(u),
        embedding: l2normalize(Array.from(eData.subarray(i * hidden, (i + 1) * hidden))),
        modelVersion,
      };
    });
  }

  // one inference at a time per session (onnxruntime already uses the configured threads)
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;

  async function predictAll(texts: string[]): Promise<TriagePrediction[]> {
    const clean = texts.map(sanitize);
    const order = clean.map((t, i) => i).sort((a, b) => (clean[a] as string).length - (clean[b] as string).length);
    const results = new Array<TriagePrediction>(clean.length);
    for (let s = 0; s < order.length; s += MAX_BATCH) {
      const idx = order.slice(s, s + MAX_BATCH);
      const preds = await runChunk(idx.map((i) => clean[i] as string));
      idx.forEach((i, j) => {
        results[i] = preds[j] as TriagePrediction;
      });
    }
    return results;
  }

  const model: TriageModel = {
    modelVersion,
    labels,
    config,
    predict(texts: string[]): Promise<TriagePrediction[]> {
      if (disposed) return Promise.reject(new Error('triage model has been disposed'));
      if (!Array.isArray(texts) || texts.length === 0) return Promise.resolve([]);
      const run = queue.then(() => predictAll(texts));
      queue = run.catch(() => undefined);
      return run;
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await queue;
      await session.release();
    },
  };

  try {
    await model.predict(['warm-up']);
  } catch (err) {
    await session.release().catch(() => undefined);
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`model ${root} fails its warm-up prediction: ${(err as Error).message}`, { cause: err });
  }
  return model;
}
