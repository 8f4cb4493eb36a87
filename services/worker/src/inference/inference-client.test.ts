import { loadFallbackModel } from '@triage/shared';
import { modelDir } from '../../../../tests/support/worker';
import { DEFAULT_BATCH_TOKENS, InferenceClient, startThreadedEncoder } from './inference-client';

describe('InferenceClient (real inference thread, shipped model)', () => {
  const fallback = loadFallbackModel(modelDir());
  const runs: number[] = [];
  let dropped = 0;
  let client: InferenceClient;

  beforeAll(async () => {
    client = await InferenceClient.start({
      modelDir: modelDir(),
      config: fallback.config!,
      intraOpThreads: 1,
      maxBatch: 1,
      observer: { batch: (size) => runs.push(size), dropped: () => (dropped += 1) },
    });
  }, 60_000);
  afterAll(() => client.dispose());

  it('drops a queued text whose caller gave up: it is rejected and never reaches the model', async () => {
    runs.length = 0;
    const abandoned = new AbortController();
    const first = client.predict('The invoice for March was charged twice.');
    const second = client.predict('Server down since this morning', abandoned.signal);
    const third = client.predict('Please reset my password');
    abandoned.abort(new Error('latency budget spent'));
    await expect(second).rejects.toThrow('latency budget spent');
    const outputs = await Promise.all([first, third]);
    expect(outputs.map((o) => o.probs.length)).toEqual([fallback.config!.labels.length, fallback.config!.labels.length]);
    expect(runs).toEqual([1, 1]);
    expect(dropped).toBe(1);
  });

  it('refuses a text whose signal is already aborted without queueing it', async () => {
    runs.length = 0;
    await expect(client.predict('x', AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
    expect(runs).toEqual([]);
  });

  it('answers which words the encoder reads beside the runs, without taking a batch slot; a disposed client refuses', async () => {
    runs.length = 0;
    const text = 'word '.repeat(300).trim();
    const ends = Array.from({ length: 300 }, (_, i) => 5 * i + 4);
    const [output, count] = await Promise.all([client.predict('The invoice for March was charged twice.'), client.inView(text, ends)]);
    expect(output.probs.length).toBe(fallback.config!.labels.length);
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(fallback.config!.max_length);
    expect(runs).toEqual([1]);
    const closed = await InferenceClient.start({ modelDir: modelDir(), config: fallback.config!, intraOpThreads: 1, maxBatch: 1 });
    await closed.dispose();
    await expect(closed.inView(text, ends)).rejects.toThrow('inference thread unavailable');
  }, 60_000);

  const runSizes = async (limits: { maxBatch: number; maxBatchTokens?: number }, texts: string[]) => {
    const batching = await InferenceClient.start({ modelDir: modelDir(), config: fallback.config!, intraOpThreads: 1, ...limits, observer: { batch: (size) => runs.push(size), dropped: () => undefined } });
    try {
      runs.length = 0;
      await Promise.all(texts.map((t) => batching.predict(t)));
      return [...runs];
    } finally {
      await batching.dispose();
    }
  };
  const same = 'My order arrived damaged, please send a replacement.'; // ~15 tokens by the estimate

  it('batches texts of similar length that queue up while a run is in flight', async () => {
    // the first runs alone (nothing queued yet); the four that waited meanwhile run together
    expect(await runSizes({ maxBatch: 4 }, [same, same, same, same, same])).toEqual([1, 4]);
  }, 60_000);

  it("keeps a run's padded tokens within the budget, whatever the batch size allows", async () => {
    expect(await runSizes({ maxBatch: 4, maxBatchTokens: 30 }, [same, same, same, same, same])).toEqual([1, 2, 2]);
    // past max_length: full-length texts, as many per run as the default budget holds
    const long = 'The export job fails every night. '.repeat(80);
    const perRun = Math.max(1, Math.floor(Math.max(DEFAULT_BATCH_TOKENS, fallback.config!.max_length) / fallback.config!.max_length));
    const sizes = await runSizes({ maxBatch: 4 }, [long, long, long, long, long]);
    expect(Math.max(...sizes)).toBe(Math.min(4, perRun));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5);
  }, 60_000);

  it('computes the n-gram half of the blend while the thread runs the encoder, not after its answer', async () => {
    const events: string[] = [];
    const ngram = { ...fallback.ngram, predict: (text: string) => (events.push('n-gram'), fallback.ngram.predict(text)) };
    const encoder = await startThreadedEncoder({
      modelDir: modelDir(),
      config: fallback.config!,
      intraOpThreads: 1,
      maxBatch: 1,
      ngram,
      observer: { batch: () => events.push('encoder answered'), dropped: () => undefined },
    });
    try {
      const [prediction] = await encoder.predict(['The invoice for March was charged twice.']);
      expect(events).toEqual(['n-gram', 'encoder answered']);
      expect(prediction!.top3).toHaveLength(3);
    } finally {
      await encoder.dispose();
    }
  }, 60_000);
});
