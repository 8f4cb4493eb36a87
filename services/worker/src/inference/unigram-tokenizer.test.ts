import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Tokenizer } from 'tokenizers';
import { ticketText } from '@triage/shared';
import { REPO_ROOT } from '../../../../tests/support/worker';
import { unigramTokenizerFrom } from './unigram-tokenizer';

const SHIPPED = join(REPO_ROOT, 'models/triage/tokenizer.json');
const DATA = join(REPO_ROOT, '..', 'shared', 'data');
const MAX_LENGTH = 256;

/** The Hugging Face binding, configured as the encoder configured it before: the reference. */
async function referenceIds(file: string, texts: string[], maxLength: number): Promise<number[][]> {
  const tokenizer = Tokenizer.fromFile(file);
  tokenizer.disablePadding();
  tokenizer.setTruncation(maxLength);
  return (await tokenizer.encodeBatch(texts)).map((e) => e.getIds());
}

const EDGE_CASES = [
  '',
  ' ',
  'trailing space ',
  'two  spaces   and\t\ttabs\r\nand lines\n\n',
  'special tokens in text: <s> </s><pad> <unk><mask>end',
  'full-width ＜s＞ becomes <s> only after normalisation',
  'U+2581 \u2581 inside, zero-width\u200bjoiner, BOM\ufeff, replacement \ufffd',
  'control\u0001chars\u0007and\u007fdelete',
  'ligatures ﬁ ﬂ, circled ① ②, math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, emoji 😀🙈👍🏽',
  'Ünïcödé Straße déjà vu — «quotes» „Anführungszeichen“ 日本語のチケット 中文 한국어 العربية',
  'x'.repeat(600),
  'word '.repeat(400),
];

describe('unigramTokenizerFrom', () => {
  const shipped = JSON.parse(readFileSync(SHIPPED, 'utf8')) as unknown;

  it('gives the binding’s ids on edge cases (specials, whitespace, normalisation, unknown characters, truncation)', async () => {
    const tokenizer = unigramTokenizerFrom(shipped, MAX_LENGTH)!;
    expect(EDGE_CASES.map((t) => tokenizer.encode(t))).toEqual(await referenceIds(SHIPPED, EDGE_CASES, MAX_LENGTH));
  });

  const files = ['tickets.csv', 'tickets-more.csv', 'tickets-de-topics.csv'].map((f) => join(DATA, f)).filter((f) => existsSync(f));
  (files.length > 0 ? it : it.skip)('gives the binding’s ids on every ticket of ../shared/data', async () => {
    const texts = files.flatMap((file) =>
      parse<{ subject?: string; body?: string }>(readFileSync(file), { columns: true, skip_empty_lines: true }).map((r) =>
        ticketText(r.subject ?? '', r.body ?? ''),
      ),
    );
    expect(texts.length).toBeGreaterThan(4_000);
    const tokenizer = unigramTokenizerFrom(shipped, MAX_LENGTH)!;
    const reference = await referenceIds(SHIPPED, texts, MAX_LENGTH);
    const differing = texts.filter((t, i) => tokenizer.encode(t).join() !== reference[i]!.join());
    expect(differing).toEqual([]);
  }, 60_000);

  it('cuts to max_length with the special tokens counted, like the binding', async () => {
    const tokenizer = unigramTokenizerFrom(shipped, 16)!;
    const ids = tokenizer.encode('word '.repeat(50));
    expect(ids).toHaveLength(16);
    expect(ids).toEqual((await referenceIds(SHIPPED, ['word '.repeat(50)], 16))[0]);
  });

  it('declines tokenizers it does not implement exactly, so the binding reads them', () => {
    const wordLevel = { model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' }, pre_tokenizer: { type: 'Whitespace' } };
    expect(unigramTokenizerFrom(wordLevel, 16)).toBeNull();
    const file = shipped as Record<string, Record<string, unknown>>;
    expect(unigramTokenizerFrom({ ...file, pre_tokenizer: { ...file.pre_tokenizer, prepend_scheme: 'first' } }, 16)).toBeNull();
    expect(unigramTokenizerFrom({ ...file, normalizer: { type: 'Lowercase' } }, 16)).toBeNull();
    expect(unigramTokenizerFrom({ ...file, model: { ...file.model, byte_fallback: true } }, 16)).toBeNull();
  });
});
