import '../../../../tests/support/onnx-realm'; // must precede onnxruntime-node (see the module)
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { ModelLoadError, type ModelConfig, type NgramModel, type TriageModel, type TriagePrediction, loadFallbackModel, loadNgramModel, readModelConfig, ticketText } from '@triage/shared';
import { REPO_ROOT, modelDir } from '../../../../tests/support/worker';
import { createBlender } from './blend';
import { loadOnnxEncoder } from './onnx-encoder';

const SHIPPED_DIR = join(REPO_ROOT, 'models/triage');
/** The contract tests run on MODEL_DIR (TRIAGE_MODEL_DIR may point at a dev model), the quality ones on the shipped model. */
const MODEL_DIR = modelDir();

/** A minimal valid tokenizer.json (WordLevel), so the error tests never depend on a trained model. */
const MINIMAL_TOKENIZER = JSON.stringify({
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: { type: 'WordLevel', vocab: { '[UNK]': 0, '[PAD]': 1, hello: 2 }, unk_token: '[UNK]' },
});

const MINIMAL_CONFIG = {
  model_version: 'sha256:0000000000000000',
  labels: ['A', 'B'],
  max_length: 16,
  pad_token_id: 1,
  model_inputs: ['input_ids', 'attention_mask'],
  onnx_file: 'onnx/model_quantized.onnx',
  alert_threshold: 0.8,
  blend: null,
};

function tempModelDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'triage-model-test-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** The encoder as the worker serves it: one ONNX run per call, blended on the caller's side. */
async function loadTriageModel(dir: string, ngram?: NgramModel): Promise<TriageModel> {
  const encoder = await loadOnnxEncoder(dir, { config: readModelConfig(dir) });
  const blend = createBlender(encoder.config, ngram ?? loadFallbackModel(dir).ngram);
  return {
    modelVersion: encoder.config.model_version,
    labels: encoder.config.labels,
    config: encoder.config,
    predict: async (texts) => (await encoder.run(texts)).map((out, i) => blend.combine(out, blend.ngramPart(texts[i] as string))),
    inView: (text, cuts) => encoder.inView(text, cuts),
    dispose: () => encoder.dispose(),
  };
}

/** Loads `dir` as the worker does: config.json first (readModelConfig), then the encoder. */
async function expectLoadError(dir: string, fragment: string | RegExp, config?: ModelConfig): Promise<void> {
  const err: unknown = await Promise.resolve()
    .then(() => loadOnnxEncoder(dir, { config: config ?? readModelConfig(dir) }))
    .then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelLoadError);
  expect((err as Error).message).toMatch(fragment);
}

describe('ticketText', () => {
  it('joins a trimmed subject and the body with a newline', () => {
    expect(ticketText('  Refund  ', 'Body\ntext')).toBe('Refund\nBody\ntext');
  });
  it('uses the body alone when the subject is empty or missing', () => {
    expect(ticketText(undefined, 'Body')).toBe('Body');
    expect(ticketText('   ', 'Body')).toBe('Body');
  });
});

describe('loadTriageModel: missing or corrupt model directory', () => {
  const dirs: string[] = [];
  const mk = (files: Record<string, string | Buffer>): string => {
    const d = tempModelDir(files);
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('names a missing directory', async () => {
    await expectLoadError(join(tmpdir(), 'no-such-triage-model-dir-42'), /model directory not found: .*no-such-triage-model-dir-42/, MINIMAL_CONFIG as ModelConfig);
  });
  it('names a missing config.json', async () => {
    await expectLoadError(mk({ 'tokenizer.json': MINIMAL_TOKENIZER }), /config missing: .*config\.json/);
  });
  it('names a corrupt config.json', async () => {
    await expectLoadError(mk({ 'config.json': '{"model_version": ', 'tokenizer.json': MINIMAL_TOKENIZER }), /config\.json is not valid JSON/);
  });
  it('names an invalid config.json (labels missing)', async () => {
    const { labels: _omit, ...noLabels } = MINIMAL_CONFIG;
    await expectLoadError(mk({ 'config.json': JSON.stringify(noLabels), 'tokenizer.json': MINIMAL_TOKENIZER }), /config\.json is invalid[\s\S]*labels/);
  });
  it('names a missing tokenizer.json', async () => {
    await expectLoadError(mk({ 'config.json': JSON.stringify(MINIMAL_CONFIG) }), /tokenizer missing: .*tokenizer\.json/);
  });
  it('names a corrupt tokenizer.json', async () => {
    await expectLoadError(mk({ 'config.json': JSON.stringify(MINIMAL_CONFIG), 'tokenizer.json': '{"version": "1.0", "model": ' }), /tokenizer .*tokenizer\.json cannot be loaded/);
  });
  it('names a missing ONNX file', async () => {
    await expectLoadError(mk({ 'config.json': JSON.stringify(MINIMAL_CONFIG), 'tokenizer.json': MINIMAL_TOKENIZER }), /ONNX model missing: .*model_quantized\.onnx/);
  });
  it('names a corrupt ONNX file', async () => {
    const dir = mk({
      'config.json': JSON.stringify(MINIMAL_CONFIG),
      'tokenizer.json': MINIMAL_TOKENIZER,
      'onnx/model_quantized.onnx': Buffer.from('this is not a protobuf \x00\x01\x02\xff'),
    });
    await expectLoadError(dir, /ONNX model .*model_quantized\.onnx cannot be loaded/);
  });
  it('names a config.json with duplicate labels', async () => {
    const cfg = { ...MINIMAL_CONFIG, labels: ['A', 'A'] };
    await expectLoadError(mk({ 'config.json': JSON.stringify(cfg), 'tokenizer.json': MINIMAL_TOKENIZER }), /config\.json is invalid[\s\S]*duplicate labels/);
  });
  it('refuses a blend whose labels the n-gram model does not know', () => {
    const cfg = readModelConfig(MODEL_DIR);
    const ngram = loadFallbackModel(MODEL_DIR).ngram;
    const blend = { queue_encoder_weight: 0.5, urgency_encoder_weight: 0.5, temperature: 1 };
    expect(() => createBlender({ ...cfg, labels: [...cfg.labels, 'No Such Queue'], blend }, ngram)).toThrow(/ngram\.json has no label "No Such Queue"/);
  });
});

describe(`loaded model (${MODEL_DIR})`, () => {
  let model: TriageModel;
  beforeAll(async () => {
    model = await loadTriageModel(MODEL_DIR);
  }, 60_000);
  afterAll(async () => {
    await model?.dispose();
  });

  it('exposes version, labels and config', () => {
    expect(model.modelVersion).toMatch(/\S/);
    expect(model.labels.length).toBeGreaterThan(1);
    expect(model.config.labels).toEqual([...model.labels]);
    expect(model.config.max_length).toBeGreaterThan(2);
  });

  it('returns well-formed predictions for a batch of mixed texts', async () => {
    const texts = [
      ticketText('Refund', 'I want my money back for the broken headphones.'),
      'x',
      ticketText('Server ausgefallen', 'Unser Server ist seit heute Morgen ausgefallen, bitte dringend helfen!'),
      'word '.repeat(2000),
    ];
    const preds = await model.predict(texts);
    expect(preds).toHaveLength(texts.length);
    for (const p of preds) {
      expect(p.top3.reduce((a, q) => a + q.probability, 0)).toBeLessThanOrEqual(1 + 1e-6);
      expect(p.top3).toHaveLength(Math.min(3, model.labels.length));
      expect(p.top3[0]?.category).toBe(p.category);
      expect(p.top3[0]?.probability).toBe(p.confidence);
      for (let i = 1; i < p.top3.length; i++) expect(p.top3[i - 1]!.probability).toBeGreaterThanOrEqual(p.top3[i]!.probability);
      expect(model.labels).toContain(p.category);
      expect(p.confidence).toBeGreaterThan(0);
      expect(p.confidence).toBeLessThanOrEqual(1);
      expect(p.urgency).toBeGreaterThanOrEqual(0);
      expect(p.urgency).toBeLessThanOrEqual(1);
      const norm = Math.sqrt(p.embedding.reduce((a, x) => a + x * x, 0));
      expect(norm).toBeCloseTo(1, 4);
      expect(p.modelVersion).toBe(model.modelVersion);
    }
  });

  it('the graph\'s queue_probs rows sum to 1 over all labels, urgency in [0,1], embedding unit norm', async () => {
    // the public prediction shows top3 only, so check the full distribution on the ONNX graph itself
    const cfg = model.config as ModelConfig & { onnx_file?: string; model_inputs?: string[]; pad_token_id?: number };
    const session = await ort.InferenceSession.create(join(MODEL_DIR, cfg.onnx_file ?? 'onnx/model_quantized.onnx'), { intraOpNumThreads: 1 });
    try {
      const tok = Tokenizer.fromFile(join(MODEL_DIR, 'tokenizer.json'));
      tok.setTruncation(cfg.max_length);
      const encs = await tok.encodeBatch(['Please reset my password', 'Die Rechnung ist falsch, bitte korrigieren.']);
      const seq = Math.max(...encs.map((e) => e.getIds().length));
      const ids = new BigInt64Array(2 * seq).fill(BigInt(cfg.pad_token_id ?? 0));
      const mask = new BigInt64Array(2 * seq);
      encs.forEach((e, i) => e.getIds().forEach((id, j) => ((ids[i * seq + j] = BigInt(id)), (mask[i * seq + j] = 1n))));
      const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [2, seq]), attention_mask: new ort.Tensor('int64', mask, [2, seq]) };
      if ((cfg.model_inputs ?? []).includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(2 * seq), [2, seq]);
      const out = await session.run(feeds);
      const probs = out.queue_probs!.data as Float32Array;
      const L = model.labels.length;
      for (let i = 0; i < 2; i++) {
        const row = Array.from(probs.subarray(i * L, (i + 1) * L));
        expect(row.every((x) => x >= 0 && x <= 1)).toBe(true);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
      for (const u of out.urgency!.data as Float32Array) expect(u >= 0 && u <= 1).toBe(true);
      const emb = out.embedding!.data as Float32Array;
      const H = out.embedding!.dims[1]!;
      for (let i = 0; i < 2; i++) expect(Math.hypot(...emb.subarray(i * H, (i + 1) * H))).toBeCloseTo(1, 3);
    } finally {
      await session.release();
    }
  });

  it('tells which words of a long text it reads: the text up to the first word it does not read whole is read exactly as the whole', async () => {
    const text = ticketText('Export broken', Array.from({ length: 30 }, (_, i) => `Step ${i}: the export to CSV stops with a timeout.`).join(' '));
    const ends = [...text.matchAll(/\S+/g)].map((m) => m.index + m[0].length);
    const k = await model.inView(text, ends);
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(ends.length);
    const [whole, upTo, before] = (await model.predict([text])).concat(await model.predict([text.slice(0, ends[k])]), await model.predict([text.slice(0, ends[k - 1])])) as [TriagePrediction, TriagePrediction, TriagePrediction];
    expect(whole.inputTokens).toBe(model.config.max_length);
    // the same first max_length tokens: the same answer to the last bit
    expect(upTo.embedding).toEqual(whole.embedding);
    expect(before.inputTokens).toBeLessThan(model.config.max_length);
    expect(before.embedding).not.toEqual(whole.embedding);
    // a text it reads whole: every word
    const short = 'The export to CSV stops with a timeout.';
    expect(await model.inView(short, [...short.matchAll(/\S+/g)].map((m) => m.index + m[0].length))).toBe(8);
    expect(await model.inView(short, [])).toBe(0);
  });

  it('gives (nearly) the same answer for a text alone and inside a padded batch', async () => {
    // dynamic int8 quantisation scales activations per tensor, so batch neighbours move outputs slightly
    const t = ticketText('Invoice wrong', 'The invoice for October charges us twice for the same licence.');
    const [alone] = await model.predict([t]);
    const batch = await model.predict(['short', t, 'a much longer text '.repeat(40)]);
    const b = batch[1]!;
    const a = alone!;
    // a clear winner (a near-tie could flip on that noise), which the batch must not change
    expect(a.top3[0]!.probability - a.top3[1]!.probability).toBeGreaterThan(0.05);
    expect(b.category).toBe(a.category);
    expect(Math.abs(b.confidence - a.confidence)).toBeLessThan(0.03);
    expect(Math.abs(b.urgency - a.urgency)).toBeLessThan(0.03);
    const cos = a.embedding.reduce((acc, x, i) => acc + x * b.embedding[i]!, 0);
    expect(cos).toBeGreaterThan(0.98);
  });

  it('never throws on odd text', async () => {
    const odd = [
      '',
      '   \n\t  ',
      'a'.repeat(20_000),
      '😀🔥💥🚨'.repeat(50),
      'مرحبا، الخادم لا يعمل منذ الصباح',
      'שלום, השרת נפל',
      '\u0000\u0001\u0002\u00ff\ufffd\ud800 binary \udfff',
      'ÀÉÎÕÜ ñ ç ß ø å',
      String.fromCharCode(...Array.from({ length: 300 }, (_, i) => (i * 7919) % 65536)),
      '1234567890 '.repeat(100),
    ];
    const preds = await model.predict(odd);
    expect(preds).toHaveLength(odd.length);
    for (const p of preds) {
      expect(model.labels).toContain(p.category);
      expect(Number.isFinite(p.confidence)).toBe(true);
      expect(p.urgency).toBeGreaterThanOrEqual(0);
      expect(p.urgency).toBeLessThanOrEqual(1);
      expect(p.embedding.every(Number.isFinite)).toBe(true);
    }
  }, 60_000);

  it('returns [] for an empty batch and refuses after dispose', async () => {
    expect(await model.predict([])).toEqual([]);
    const other = await loadTriageModel(MODEL_DIR);
    await other.dispose();
    await expect(other.predict(['x'])).rejects.toThrow(/disposed/);
  });

  it('applies the n-gram blend from config.json', async () => {
    const ngram = loadNgramModel(join(MODEL_DIR, 'ngram.json'));
    const dir = mkdtempSync(join(tmpdir(), 'triage-blend-'));
    try {
      const cfg = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
      const onnxFile = typeof cfg.onnx_file === 'string' ? cfg.onnx_file : 'onnx/model_quantized.onnx';
      // onnxruntime finds the external data file next to the path it was given
      for (const f of ['tokenizer.json', onnxFile, `${onnxFile}.data`]) {
        mkdirSync(join(dir, f, '..'), { recursive: true });
        symlinkSync(join(MODEL_DIR, f), join(dir, f));
      }
      copyFileSync(join(MODEL_DIR, 'ngram.json'), join(dir, 'ngram.json'));
      const text = ticketText('Refund please', 'I returned the blender last week and still have not received my refund.');
      // all n-gram: served probabilities are the n-gram's (temperature 1) and urgency is the n-gram's
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, blend: { queue_encoder_weight: 0, urgency_encoder_weight: 0, temperature: 1 } }));
      const onlyNgram = await loadTriageModel(dir);
      const [p] = await onlyNgram.predict([text]);
      await onlyNgram.dispose();
      const ng = ngram.predict(text);
      const bestK = ng.proba.indexOf(Math.max(...ng.proba));
      expect(p!.category).toBe(ngram.labels[bestK]);
      expect(p!.confidence).toBeCloseTo(ng.proba[bestK]!, 6);
      expect(p!.urgency).toBeCloseTo(ng.urgency, 6);
      // all encoder: the same as no blend at all
      const predictWith = async (blend: unknown) => {
        writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, blend }));
        const m = await loadTriageModel(dir);
        try {
          return (await m.predict([text]))[0]!;
        } finally {
          await m.dispose();
        }
      };
      const q = await predictWith({ queue_encoder_weight: 1, urgency_encoder_weight: 1, temperature: 1 });
      const r = await predictWith(null);
      expect(q.category).toBe(r.category);
      expect(q.confidence).toBeCloseTo(r.confidence, 5);
      expect(q.urgency).toBeCloseTo(r.urgency, 5);
      expect(q.embedding).toEqual(r.embedding);
      // and the blend the bundle ships changes only the scores, never the embedding
      const [served] = await model.predict([text]);
      expect(served!.embedding).toEqual(r.embedding);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('shipped model quality on known tickets (models/triage)', () => {
  let model: TriageModel;
  beforeAll(async () => {
    model = await loadTriageModel(SHIPPED_DIR);
  }, 60_000);
  afterAll(async () => {
    await model?.dispose();
  });

  const TECHNICAL = ['Technical Support', 'IT Support', 'Service Outages and Maintenance', 'Product Support'];

  it('sends a refund request to Returns and Exchanges or Billing and Payments', async () => {
    const [p] = await model.predict([
      ticketText(
        'Refund for returned order',
        'Hello, I returned the damaged coffee machine two weeks ago as instructed, but I have not received my refund yet. Please process the refund of 149.99 EUR to my credit card. Order number 48213.',
      ),
    ]);
    expect(['Returns and Exchanges', 'Billing and Payments']).toContain(p!.category);
  });

  it('sends a German "Server ausgefallen" ticket to a technical queue', async () => {
    const [p] = await model.predict([
      ticketText(
        'Server ausgefallen',
        'Sehr geehrtes Support-Team,\n\nunser Server ist seit heute Morgen ausgefallen und keiner unserer Mitarbeiter kann auf die Anwendungen zugreifen. Bitte helfen Sie uns dringend.\n\nMit freundlichen Grüßen',
      ),
    ]);
    expect(TECHNICAL).toContain(p!.category);
  });

  it('scores an obvious outage as more urgent than a routine question', async () => {
    const [outage, routine] = await model.predict([
      ticketText('URGENT: production outage', 'All our servers are down since 9:00, customers cannot log in. We are losing revenue, please help immediately!'),
      ticketText('Question about brochure', 'Hello, could you send me your product brochure when you have a moment? Thanks.'),
    ]);
    expect(outage!.urgency).toBeGreaterThan(routine!.urgency);
  });
});
