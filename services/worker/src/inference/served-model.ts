import { type FallbackModel, type FallbackPrediction, type ModelUsed, type TriageModel, errorMessage, withTimeout } from '@triage/shared';
import type { CircuitBreaker } from '../circuit-breaker';

/** What the processor stores; the embedding (storm grouping) exists only for encoder results. */
export type ServedPrediction = FallbackPrediction & { embedding?: number[]; modelUsed: ModelUsed };

export interface ServedModelOptions {
  /** The ONNX encoder; called at start and again by a half-open probe while it has never loaded. */
  loadEncoder: () => Promise<TriageModel>;
  fallback: FallbackModel;
  breaker: CircuitBreaker;
  /** An encoder answer slower than this counts as a failure; the ticket gets the fallback's answer. */
  latencyBudgetMs: number;
}

export class EncoderTimeoutError extends Error {
  override readonly name = 'EncoderTimeoutError';
}


/** Runs `work` with a signal that aborts after `budgetMs`, so an answer nobody waits for is never computed. */
function withinBudget<T>(work: (signal: AbortSignal) => Promise<T>, budgetMs: number): Promise<T> {
  const controller = new AbortController();
  return withTimeout(work(controller.signal), budgetMs, () => {
    const err = new EncoderTimeoutError(`encoder exceeded its latency budget of ${budgetMs} ms`);
    controller.abort(err);
    return err;
  });
}

/**
 * The encoder behind a circuit breaker, with the n-gram model as the fallback: a ticket is never
 * left waiting on a broken or slow encoder, and every answer says which model produced it.
 */
export class ServedModel {
  private encoder: TriageModel | null = null;

  private constructor(private readonly options: ServedModelOptions) {}

  /** Never rejects because of the encoder: a load failure opens the breaker instead. */
  static async start(options: ServedModelOptions): Promise<ServedModel> {
    const model = new ServedModel(options);
    try {
      model.encoder = await options.loadEncoder();
    } catch (err) {
      options.breaker.trip(`encoder failed to load: ${errorMessage(err)}`);
    }
    return model;
  }

  get modelVersion(): string {
    return this.encoder?.modelVersion ?? this.options.fallback.modelVersion;
  }

  /**
   * The encoder while its breaker is closed, for on-demand work (explanations) that should neither wait
   * for a load nor probe a failing encoder.
   */
  healthyEncoder(): TriageModel | null {
    return this.options.breaker.snapshot().state === 'closed' ? this.encoder : null;
  }

  async predict(text: string): Promise<ServedPrediction> {
    const { breaker, fallback } = this.options;
    const permit = breaker.acquire();
    if (permit) {
      try {
        const encoder = (this.encoder ??= await this.options.loadEncoder());
        const [prediction] = await withinBudget((signal) => encoder.predict([text], signal), this.options.latencyBudgetMs);
        if (!prediction) throw new Error('encoder returned no prediction');
        breaker.success(permit);
        return { ...prediction, modelUsed: 'encoder' };
      } catch (err) {
        breaker.failure(permit, errorMessage(err));
      }
    }
    return { ...fallback.predict(text), modelUsed: 'fallback' };
  }

  async dispose(): Promise<void> {
    await this.encoder?.dispose();
  }
}
