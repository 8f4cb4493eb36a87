import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelDir } from '../../../tests/support/worker';
import { NgramFeaturizer, type NgramModel, decodeFloat16, fnv1a32, loadNgramModel, ngramModelFromJson, ngramTokens, normalizeNgramText } from './ngram-model';
import { ModelLoadError } from './errors';

const FIXTURES = join(__dirname, '__fixtures__');
const MODEL_PATH = join(FIXTURES, 'ngram-small.json');

interface Expected {
  texts: string[];
  proba: number[][];
  urgency: number[];
  keyword_groups: string[][];
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'ngram-small.expected.json'), 'utf8')) as Expected;

describe('n-gram model: feature primitives', () => {
  it('FNV-1a 32-bit matches the reference values (UTF-8 bytes)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // multi-byte: "é" = C3 A9, "😀" = F0 9F 98 80
    const bytes = (s: string): number => {
      let h = 0x811c9dc5;
      for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      return h >>> 0;
    };
    for (const s of ['é', 'c:ße ', '😀x', 'w:ausgefallen', 'b:日本 語', 'ا١']) expect(fnv1a32(s)).toBe(bytes(s));
  });

  it('normalises (NFKC + lowercase) and tokenises letters/numbers runs', () => {
    expect(ngramTokens(normalizeNgramText('ＦＵＬＬ ﬁle Cafe\u0301 snake_case x² ΟΔΟΣ', 100))).toEqual(['full', 'file', 'café', 'snake', 'case', 'x2', 'οδος']);
    expect(normalizeNgramText('ΟΔΟΣ', 10)).toBe('οδος');
    expect(normalizeNgramText('abc\ud800', 10)).toBe('abc\ufffd');
    expect(normalizeNgramText('😀😀😀', 2)).toBe('😀😀'); // code points, not UTF-16 units
  });
});

describe('n-gram model: parity with the Python trainer (fixture from python -m training.ngram_fixture)', () => {
  const model = loadNgramModel(MODEL_PATH);
  // the fixture model has an idf vector, which only scales the buckets: keyword features come out the same without it
  const doc = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as { n_buckets: number; keywords: Array<{ name: string }> };
  const spec = doc as unknown as ConstructorParameters<typeof NgramFeaturizer>[0];

  it('has the fixture labels', () => {
    expect(model.labels.length).toBe(expected.proba[0]!.length);
  });

  it.each(expected.texts.map((t, i) => [i, JSON.stringify(t.slice(0, 40))] as const))('text %i %s: probabilities and urgency within 1e-5', (i) => {
    const text = expected.texts[i]!;
    const p = model.predictProba(text);
    const want = expected.proba[i]!;
    expect(p).toHaveLength(want.length);
    p.forEach((v, k) => expect(Math.abs(v - want[k]!)).toBeLessThan(1e-5));
    expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
    const u = model.predictUrgency(text);
    expect(Math.abs(u - expected.urgency[i]!)).toBeLessThan(1e-5);
    expect(u).toBeGreaterThanOrEqual(0);
    expect(u).toBeLessThanOrEqual(1);
    const both = model.predict(text);
    expect(both.proba).toEqual(p);
    expect(both.urgency).toBe(u);
  });

  it.each(expected.texts.map((t, i) => [i, JSON.stringify(t.slice(0, 40))] as const))('text %i %s: the keyword groups Python found', (i) => {
    const x = new NgramFeaturizer(spec, null).features(expected.texts[i]!);
    const groups = [...x.index].filter((j) => j >= doc.n_buckets).map((j) => doc.keywords[j - doc.n_buckets]!.name);
    expect(groups).toEqual(expected.keyword_groups[i]);
  });
});

describe('n-gram model: loading errors', () => {
  it('names a missing file', () => {
    expect(() => loadNgramModel(join(FIXTURES, 'nope.json'))).toThrow(ModelLoadError);
    expect(() => loadNgramModel(join(FIXTURES, 'nope.json'))).toThrow(/nope\.json/);
  });
  it('rejects a malformed document', () => {
    expect(() => ngramModelFromJson({ format: 'triage-ngram' }, 'x.json')).toThrow(/x\.json is not a valid n-gram model/);
    const doc = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as { queue: { coef: { data: string } } };
    doc.queue.coef.data = doc.queue.coef.data.slice(0, 100);
    expect(() => ngramModelFromJson(doc, 'y.json')).toThrow(/queue\.coef has \d+ bytes/);
  });
});

const MODEL_DIR = modelDir();
const SHIPPED_NGRAM = join(MODEL_DIR, 'ngram.json');

describe(`shipped n-gram model (${SHIPPED_NGRAM})`, () => {
  let model: NgramModel;
  beforeAll(() => {
    model = loadNgramModel(SHIPPED_NGRAM);
  });
  const TECHNICAL = ['Technical Support', 'IT Support', 'Service Outages and Maintenance', 'Product Support'];

  it('covers the labels of config.json', () => {
    const cfg = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')) as { labels: string[] };
    expect([...model.labels].sort()).toEqual([...cfg.labels].sort());
  });

  it('gives sensible queues and well-formed outputs for known tickets', () => {
    const refund = model.predict('Refund for returned order\nI returned the damaged coffee machine two weeks ago but have not received my refund yet.');
    expect(['Returns and Exchanges', 'Billing and Payments']).toContain(model.labels[refund.proba.indexOf(Math.max(...refund.proba))]);
    const outage = model.predict('Server ausgefallen\nUnser Server ist seit heute Morgen ausgefallen, bitte dringend helfen.');
    expect(TECHNICAL).toContain(model.labels[outage.proba.indexOf(Math.max(...outage.proba))]);
    for (const r of [refund, outage]) {
      expect(Math.abs(r.proba.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
      expect(r.urgency).toBeGreaterThanOrEqual(0);
      expect(r.urgency).toBeLessThanOrEqual(1);
    }
    expect(outage.urgency).toBeGreaterThan(refund.urgency);
  });
});

describe('n-gram model: attribution', () => {
  const model = loadNgramModel(MODEL_PATH);
  const doc = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as { queue: { intercept: number[] } };
  const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);

  it.each(expected.texts.map((t, i) => [i, JSON.stringify(t.slice(0, 40))] as const))(
    'text %i %s: token shares add up exactly to p_c·(logit_c − Σ p_k logit_k) without the intercepts',
    (i) => {
      const text = expected.texts[i]!;
      const p = model.predictProba(text);
      for (const label of [p.indexOf(Math.max(...p)), 0]) {
        const a = model.attribute(text, label);
        expect(a.proba).toEqual(p);
        expect(a.urgency).toBe(model.predictUrgency(text));
        expect(a.tokens).toEqual(ngramTokens(normalizeNgramText(text, 20_000)));
        expect(a.queue).toHaveLength(a.tokens.length);
        const pc = p[label]!;
        // log-softmax differs from the logits by one constant, which Σ p_k removes
        const margin = Math.log(pc) - p.reduce((acc, pk) => acc + pk * Math.log(pk), 0);
        const bias = doc.queue.intercept[label]! - p.reduce((acc, pk, k) => acc + pk * doc.queue.intercept[k]!, 0);
        expect(sum(a.queue)).toBeCloseTo(pc * (margin - bias), 9);
      }
    },
  );

  it('rejects a label outside the model', () => {
    expect(() => model.attribute('hello', model.labels.length)).toThrow(RangeError);
  });
});

describe('shipped n-gram model: attribution points at the words a person would', () => {
  it('an outage ticket: the outage words carry the urgency, not the greeting', () => {
    const model = loadNgramModel(SHIPPED_NGRAM);
    const text = 'Hello team\nOur production server is down since this morning, all customers affected, urgent!';
    const p = model.predictProba(text);
    const a = model.attribute(text, p.indexOf(Math.max(...p)));
    const rank = (v: Float64Array) => a.tokens.map((t, i) => [t, v[i]!] as const).sort((x, y) => y[1] - x[1]).map(([t]) => t);
    const topUrgency = rank(a.urgencyEvidence).slice(0, 4);
    expect(topUrgency.some((t) => ['down', 'urgent', 'production', 'server', 'affected'].includes(t))).toBe(true);
    expect(topUrgency).not.toContain('hello');
  });
});

/** Reference binary16 → number, built from the float32 bit pattern (independent of the model's decoder). */
function referenceHalf(h: number): number {
  const bits = new Uint32Array(1);
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 31) bits[0] = sign | 0x7f800000 | (mant << 13);
  else if (exp > 0) bits[0] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  else if (mant === 0) bits[0] = sign;
  else {
    // subnormal: shift the leading 1 into the implicit bit
    let shift = 0;
    while (!(mant & 0x400)) {
      mant <<= 1;
      shift++;
    }
    bits[0] = sign | ((1 - 15 - shift + 127) << 23) | ((mant & 0x3ff) << 13);
  }
  return new Float32Array(bits.buffer)[0]!;
}

interface MatrixJson { dtype: string; shape: [number, number]; data: string }
interface WeightsJson { idf: MatrixJson | null; queue: { coef: MatrixJson }; urgency: { coef: MatrixJson } }

const matricesOf = (doc: WeightsJson): MatrixJson[] => [doc.queue.coef, doc.urgency.coef, ...(doc.idf ? [doc.idf] : [])];
const weightCount = (doc: WeightsJson): number => matricesOf(doc).reduce((n, m) => n + m.shape[0] * m.shape[1], 0);

describe('n-gram model: float16 weights', () => {
  it('decodes every float16 bit pattern exactly (±0, subnormals, max, ±Inf, NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      if (!Object.is(decodeFloat16(h), referenceHalf(h))) throw new Error(`0x${h.toString(16)}: ${decodeFloat16(h)} ≠ ${referenceHalf(h)}`);
    }
    const cases: Array<[number, number]> = [
      [0x0000, 0], [0x8000, -0], [0x0001, 2 ** -24], [0x8001, -(2 ** -24)], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14],
      [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504], [0xfbff, -65504],
      [0x7c00, Infinity], [0xfc00, -Infinity], [0x7c01, NaN], [0x7e00, NaN], [0xfe00, NaN], [0x7fff, NaN],
    ];
    for (const [h, want] of cases) expect([h, decodeFloat16(h)]).toEqual([h, want]);
    expect(Object.is(decodeFloat16(0x8000), -0)).toBe(true);
  });

  it('keeps float16 weights at 2 bytes each in memory', () => {
    const doc = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as WeightsJson;
    expect(matricesOf(doc).every((m) => m.dtype === 'float16')).toBe(true);
    expect(loadNgramModel(MODEL_PATH).weightBytes).toBe(2 * weightCount(doc));
  });

  it('gives bit-identical outputs when the same weights come as float32', () => {
    const doc = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as WeightsJson;
    const wide = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as WeightsJson;
    for (const m of matricesOf(wide)) {
      const half = Buffer.from(m.data, 'base64');
      const out = Buffer.alloc(half.length * 2);
      for (let i = 0; i < half.length / 2; i++) out.writeFloatLE(referenceHalf(half.readUInt16LE(i * 2)), i * 4);
      m.dtype = 'float32';
      m.data = out.toString('base64');
    }
    const narrow = ngramModelFromJson(doc);
    const model32 = ngramModelFromJson(wide);
    expect(model32.weightBytes).toBe(4 * weightCount(wide));
    expect(narrow.weightBytes * 2).toBe(model32.weightBytes);
    for (const text of expected.texts) {
      expect(model32.predict(text)).toEqual(narrow.predict(text));
      const p = narrow.predictProba(text);
      const label = p.indexOf(Math.max(...p));
      expect(model32.attribute(text, label)).toEqual(narrow.attribute(text, label));
    }
  });
});
