import { type TriageModel, type TriagePrediction, loadFallbackModel } from '@triage/shared';
import { modelDir } from '../../../../tests/support/worker';
import { CircuitBreaker } from '../circuit-breaker';
import { ServedModel } from './served-model';

const fallback = loadFallbackModel(modelDir());
const TEXT = 'The invoice for March was charged twice.';

function encoder(predict: TriageModel['predict']): TriageModel {
  return { modelVersion: 'sha256:encoder', labels: fallback.labels, config: {} as TriageModel['config'], predict, inView: async (_text, cuts) => cuts.length, dispose: async () => undefined };
}
const answer = (): TriagePrediction[] => [
  { category: fallback.labels[0]!, confidence: 0.9, top3: [], probabilities: [], urgency: 0.3, embedding: [1, 0], modelVersion: 'sha256:encoder' },
];

function clockedBreaker(failureThreshold = 1) {
  let now = 0;
  const breaker = new CircuitBreaker({ failureThreshold, cooldownMs: 1_000, now: () => now });
  return { breaker, advance: (ms: number) => (now += ms) };
}

describe('ServedModel', () => {
  it('starts on the fallback when the encoder cannot load, and a later probe loads it and closes the breaker', async () => {
    const { breaker, advance } = clockedBreaker();
    const loadEncoder = jest
      .fn<Promise<TriageModel>, []>()
      .mockRejectedValueOnce(new Error('ONNX model missing: /m/onnx/model_quantized.onnx'))
      .mockResolvedValue(encoder(async () => answer()));
    const model = await ServedModel.start({ loadEncoder, fallback, breaker, latencyBudgetMs: 10_000 });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', reason: 'encoder failed to load: ONNX model missing: /m/onnx/model_quantized.onnx' });
    expect(model.modelVersion).toBe(fallback.modelVersion);

    const served = await model.predict(TEXT);
    expect(served).toEqual({ ...fallback.predict(TEXT), modelUsed: 'fallback' });
    expect(served.embedding).toBeUndefined();
    expect(loadEncoder).toHaveBeenCalledTimes(1);

    advance(1_000);
    expect(await model.predict(TEXT)).toMatchObject({ modelUsed: 'encoder', embedding: [1, 0], modelVersion: 'sha256:encoder' });
    expect(loadEncoder).toHaveBeenCalledTimes(2);
    expect(breaker.snapshot().state).toBe('closed');
    expect(model.modelVersion).toBe('sha256:encoder');
  });

  it('answers with the fallback when the encoder misses the latency budget, and counts it as a failure', async () => {
    const { breaker } = clockedBreaker(2);
    const hung = encoder(() => new Promise<TriagePrediction[]>(() => undefined));
    const model = await ServedModel.start({ loadEncoder: async () => hung, fallback, breaker, latencyBudgetMs: 20 });
    expect(await model.predict(TEXT)).toEqual({ ...fallback.predict(TEXT), modelUsed: 'fallback' });
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutive_failures: 1, reason: null });
    await model.predict(TEXT);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', reason: 'encoder exceeded its latency budget of 20 ms' });
  });
});
