import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ModelConfig, TriageModel, TriagePrediction } from '@triage/shared';
import type { FromThread, InferenceThreadInit, ToThread } from './inference.protocol';

export interface InferenceOptions {
  modelDir: string;
  intraOpThreads: number;
  /** Texts that queue up while a batch runs are sent together, up to this many. */
  maxBatch: number;
  threadScript?: string;
}

interface PendingText {
  text: string;
  /** Set after a batch failed, so a poison text cannot fail its neighbours twice. */
  alone: boolean;
  resolve: (p: TriagePrediction) => void;
  reject: (e: Error) => void;
}

/** A worker_thread needs JS; under ts-jest this file runs from src/, so fall back to dist/. */
export function defaultThreadScript(): string {
  const sibling = join(__dirname, 'inference.thread.js');
  return existsSync(sibling) ? sibling : join(__dirname, '..', '..', 'dist', 'inference', 'inference.thread.js');
}

const RESPAWN_DELAY_MS = 1_000;

export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
}

/** Main-thread handle on the inference thread: one batch in flight, the rest queued. */
export class InferenceClient {
  private readonly queue: PendingText[] = [];
  private inFlight: { id: number; items: PendingText[] } | undefined;
  private nextId = 1;
  private disposed = false;
  /** Undefined while a crashed thread is being replaced. */
  private thread: Worker | undefined;

  private constructor(
    private readonly options: InferenceOptions,
    thread: Worker,
    readonly modelVersion: string,
    readonly modelConfig: ModelConfig,
  ) {
    this.thread = thread;
    this.attach(thread);
  }

  /** Spawns the thread and waits for the model to load; rejects with the loader's message. */
  static async start(options: InferenceOptions): Promise<InferenceClient> {
    const { thread, ready } = await spawnThread(options);
    return new InferenceClient(options, thread, ready.modelVersion, ready.config);
  }

  predict(text: string): Promise<TriagePrediction> {
    if (this.disposed) return Promise.reject(new ModelUnavailableError('inference client is disposed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ text, alone: false, resolve, reject });
      this.pump();
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

  private pump(): void {
    if (!this.thread || this.inFlight || this.queue.length === 0) return;
    const firstAlone = this.queue.findIndex((p) => p.alone);
    const batchable = firstAlone === -1 ? this.queue.length : firstAlone;
    const items = this.queue.splice(0, firstAlone === 0 ? 1 : Math.min(this.options.maxBatch, batchable));
    const id = this.nextId++;
    this.inFlight = { id, items };
    this.post({ type: 'predict', id, texts: items.map((p) => p.text) });
  }

  private onMessage(message: FromThread): void {
    if ((message.type !== 'result' && message.type !== 'error') || message.id !== this.inFlight?.id) return;
    const { items } = this.inFlight;
    this.inFlight = undefined;
    if (message.type === 'result') {
      items.forEach((item, i) => item.resolve(message.predictions[i]!));
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
      ({ thread }) => {
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
  }

  private post(message: ToThread): void {
    this.thread?.postMessage(message);
  }
}

async function spawnThread(options: InferenceOptions) {
  const init: InferenceThreadInit = { modelDir: options.modelDir, intraOpThreads: options.intraOpThreads };
  const thread = new Worker(options.threadScript ?? defaultThreadScript(), { workerData: init });
  let onError: (err: Error) => void = () => undefined;
  let onExit: (code: number) => void = () => undefined;
  let onMessage: (message: FromThread) => void = () => undefined;
  const ready = await new Promise<Extract<FromThread, { type: 'ready' }>>((resolve, reject) => {
    onError = reject;
    onExit = (code) => reject(new ModelUnavailableError(`inference thread exited during start-up (code ${code})`));
    onMessage = (message) => {
      if (message.type === 'ready') resolve(message);
      else reject(new ModelUnavailableError(message.type === 'load-failed' ? message.message : `unexpected ${message.type}`));
    };
    thread.on('error', onError).on('exit', onExit).on('message', onMessage);
  }).finally(() => {
    // Only our own listeners: removeAllListeners() would also drop the Worker's internal ones.
    thread.off('error', onError).off('exit', onExit).off('message', onMessage);
  });
  return { thread, ready };
}

/** The inference thread behind the TriageModel interface, so the served model treats it like any encoder. */
export async function startThreadedEncoder(options: InferenceOptions): Promise<TriageModel> {
  const client = await InferenceClient.start(options);
  return {
    modelVersion: client.modelVersion,
    labels: client.modelConfig.labels,
    config: client.modelConfig,
    predict: (texts) => Promise.all(texts.map((text) => client.predict(text))),
    dispose: () => client.dispose(),
  };
}
