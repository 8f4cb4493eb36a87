import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ModelConfig, NgramModel, TriageModel } from '@triage/shared';
import { createBlender } from './blend';
import type { FromThread, InferenceThreadInit, ToThread } from './inference.protocol';
import type { EncoderOutput } from './onnx-encoder';
import { type BatchLimits, estimateTokens, pickBatch } from './pick-batch';

/** What the inference client reports (worker metrics). */
export interface InferenceObserver {
  /** One onnxruntime run of `size` texts took `seconds` (thread round trip included). */
  batch(size: number, seconds: number): void;
  /** A text whose caller gave up (latency budget) was dropped before it reached the model. */
  dropped(): void;
}

export interface InferenceOptions {
  modelDir: string;
  /** The bundle's parsed config.json. */
  config: ModelConfig;
  intraOpThreads: number;
  /** The most texts of similar length that one onnxruntime run takes (1 = no batching). */
  maxBatch: number;
  /** A batch's padding may add at most this fraction of its real tokens. */
  maxPadding?: number;
  /** Most padded tokens per run (see BatchLimits.maxTokens); default: DEFAULT_BATCH_TOKENS, or the model's max_length if longer. */
  maxBatchTokens?: number;
  observer?: InferenceObserver;
  threadScript?: string;
}

interface PendingText {
  text: string;
  tokens: number;
  alone: boolean;
  signal: AbortSignal | undefined;
  resolve: (out: EncoderOutput) => void;
  reject: (e: Error) => void;
}

/** A worker_thread needs JS; under ts-jest this file runs from src/, so fall back to dist/. */
export function defaultThreadScript(): string {
  const sibling = join(__dirname, 'inference.thread.js');
  return existsSync(sibling) ? sibling : join(__dirname, '..', '..', 'dist', 'inference', 'inference.thread.js');
}

const RESPAWN_DELAY_MS = 1_000;
const DEFAULT_MAX_PADDING = 0.25;
/**
 * The padded tokens one run may hold unless configured: one 256-token text's activations. A model with a
 * shorter max_length still batches its truncated texts within that footprint.
 */
export const DEFAULT_BATCH_TOKENS = 256;

export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
}

const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error(`inference abandoned: ${String(signal.reason)}`);

/**
 * Main-thread handle on the inference thread: one batch in flight, the rest queued. Texts whose
 * caller has given up (aborted signal) leave the queue at once, so the model never computes an
 * answer nobody waits for.
 */
export class InferenceClient {
  private readonly queue: PendingText[] = [];
  private inFlight: { id: number; items: PendingText[]; started: number } | undefined;
  /** in-view questions sent to the thread; they run no model, so they do not wait for a batch slot. */
  private readonly views = new Map<number, { resolve: (count: number) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private disposed = false;
  /** Undefined while a crashed thread is being replaced. */
  private thread: Worker | undefined;

  readonly modelConfig: ModelConfig;
  private readonly limits: BatchLimits;

  private constructor(
    private readonly options: InferenceOptions,
    thread: Worker,
  ) {
    this.modelConfig = options.config;
    this.limits = {
      maxBatch: options.maxBatch,
      maxPadding: options.maxPadding ?? DEFAULT_MAX_PADDING,
      maxTokens: options.maxBatchTokens ?? Math.max(DEFAULT_BATCH_TOKENS, options.config.max_length),
    };
    this.thread = thread;
    this.attach(thread);
  }

  /** Spawns the thread and waits for the model to load; rejects with the loader's message. */
  static async start(options: InferenceOptions): Promise<InferenceClient> {
    return new InferenceClient(options, await spawnThread(options));
  }

  predict(text: string, signal?: AbortSignal): Promise<EncoderOutput> {
    if (this.disposed) return Promise.reject(new ModelUnavailableError('inference client is disposed'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = () => this.drop(item);
      const settle = () => signal?.removeEventListener('abort', onAbort);
      const item: PendingText = {
        text,
        tokens: estimateTokens(text, this.modelConfig.max_length),
        alone: false,
        signal,
        resolve: (out) => (settle(), resolve(out)),
        reject: (err) => (settle(), reject(err)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(item);
      this.pump();
    });
  }

  inView(text: string, cuts: readonly number[]): Promise<number> {
    if (this.disposed || !this.thread) return Promise.reject(new ModelUnavailableError('inference thread unavailable'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.views.set(id, { resolve, reject });
      this.post({ type: 'in-view', id, text, cuts: [...cuts] });
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.failAll(new ModelUnavailableError('inference client is disposed'));
    const thread = this.thread;
    if (!thread) return;
    const done = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    this.post({ type: 'dispose' });
    await done;
  }

  private readonly handleMessage = (message: FromThread) => this.onMessage(message);
  private readonly handleError = (err: Error) => this.onCrash(err);
  private readonly handleExit = (code: number) => this.onCrash(new Error(`inference thread exited with code ${code}`));

  private attach(thread: Worker): void {
    thread.on('message', this.handleMessage).on('error', this.handleError).on('exit', this.handleExit);
  }

  private detach(thread: Worker): void {
    thread.off('message', this.handleMessage).off('error', this.handleError).off('exit', this.handleExit);
  }

  /** An abandoned text still queued is rejected and never sent; one already running finishes unseen. */
  private drop(item: PendingText): void {
    const at = this.queue.indexOf(item);
    if (at < 0) return;
    this.queue.splice(at, 1);
    this.options.observer?.dropped();
    item.reject(abortReason(item.signal as AbortSignal));
  }

  private pump(): void {
    if (!this.thread || this.inFlight || this.queue.length === 0) return;
    const picked = pickBatch(this.queue, this.limits);
    const items = picked.map((i) => this.queue[i] as PendingText);
    for (const i of [...picked].sort((a, b) => b - a)) this.queue.splice(i, 1);
    const id = this.nextId++;
    this.inFlight = { id, items, started: performance.now() };
    this.post({ type: 'predict', id, texts: items.map((p) => p.text) });
  }

  private onMessage(message: FromThread): void {
    const view = 'id' in message ? this.views.get(message.id) : undefined;
    if (view && (message.type === 'in-view' || message.type === 'error')) {
      this.views.delete(message.id);
      if (message.type === 'in-view') view.resolve(message.count);
      else view.reject(new Error(`inference failed: ${message.message}`));
      return;
    }
    if ((message.type !== 'result' && message.type !== 'error') || message.id !== this.inFlight?.id) return;
    const { items, started } = this.inFlight;
    this.inFlight = undefined;
    if (message.type === 'result') {
      this.options.observer?.batch(items.length, (performance.now() - started) / 1000);
      items.forEach((item, i) => item.resolve(message.outputs[i] as EncoderOutput));
    } else if (items.length === 1) {
      items[0]!.reject(new Error(`inference failed: ${message.message}`));
    } else {
      this.queue.unshift(...items.map((item) => ({ ...item, alone: true })));
    }
    this.pump();
  }

  /** A dead thread fails what it held and is replaced, so one crash does not stop the worker. */
  private onCrash(err: Error): void {
    if (this.disposed) return;
    this.failAll(new ModelUnavailableError(err.message));
    const dead = this.thread;
    this.thread = undefined;
    if (dead) this.detach(dead);
    void dead?.terminate();
    setTimeout(() => this.respawn(), RESPAWN_DELAY_MS).unref();
  }

  private respawn(): void {
    spawnThread(this.options).then(
      (thread) => {
        if (this.disposed) return void thread.terminate();
        this.thread = thread;
        this.attach(thread);
        this.pump();
      },
      (err: Error) => this.onCrash(err),
    );
  }

  private failAll(err: Error): void {
    const items = [...(this.inFlight?.items ?? []), ...this.queue.splice(0)];
    this.inFlight = undefined;
    for (const item of items) item.reject(err);
    for (const view of this.views.values()) view.reject(err);
    this.views.clear();
  }

  private post(message: ToThread): void {
    this.thread?.postMessage(message);
  }
}

async function spawnThread(options: InferenceOptions) {
  const init: InferenceThreadInit = { modelDir: options.modelDir, config: options.config, intraOpThreads: options.intraOpThreads };
  const thread = new Worker(options.threadScript ?? defaultThreadScript(), { workerData: init });
  let onError: (err: Error) => void = () => undefined;
  let onExit: (code: number) => void = () => undefined;
  let onMessage: (message: FromThread) => void = () => undefined;
  await new Promise<void>((resolve, reject) => {
    onError = reject;
    onExit = (code) => reject(new ModelUnavailableError(`inference thread exited during start-up (code ${code})`));
    onMessage = (message) => {
      if (message.type === 'ready') resolve();
      else reject(new ModelUnavailableError(message.type === 'load-failed' ? message.message : `unexpected ${message.type}`));
    };
    thread.on('error', onError).on('exit', onExit).on('message', onMessage);
  }).finally(() => {
    // Only our own listeners: removeAllListeners() would also drop the Worker's internal ones.
    thread.off('error', onError).off('exit', onExit).off('message', onMessage);
  });
  return thread;
}

/**
 * The inference thread behind the TriageModel interface, blended on this thread with `ngram` (the
 * worker's one n-gram instance, shared with the fallback).
 */
export async function startThreadedEncoder(options: InferenceOptions & { ngram: NgramModel }): Promise<TriageModel> {
  const client = await InferenceClient.start(options);
  const blend = await Promise.resolve()
    .then(() => createBlender(client.modelConfig, options.ngram))
    .catch(async (err: unknown) => {
      await client.dispose();
      throw err;
    });
  return {
    modelVersion: client.modelConfig.model_version,
    labels: client.modelConfig.labels,
    config: client.modelConfig,
    predict: (texts, signal) =>
      Promise.all(
        texts.map(async (text) => {
          // predict() has posted the text to the thread (or queued it): the n-gram half runs meanwhile.
          const [out, ngram] = await Promise.all([client.predict(text, signal), Promise.resolve(text).then((t) => blend.ngramPart(t))]);
          return blend.combine(out, ngram);
        }),
      ),
    inView: (text, cuts) => client.inView(text, cuts),
    dispose: () => client.dispose(),
  };
}
