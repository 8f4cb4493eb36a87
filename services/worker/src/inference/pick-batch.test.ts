import { estimateTokens, pickBatch } from './pick-batch';

const q = (...tokens: number[]) => tokens.map((t) => ({ tokens: t, alone: false }));
const limits = (maxBatch: number, maxPadding = 0.25, maxTokens = 10_000) => ({ maxBatch, maxPadding, maxTokens });

describe('pickBatch (the one length-aware batching decision)', () => {
  it('always starts with the oldest waiting text', () => {
    expect(pickBatch(q(40, 10, 10, 10), limits(4))[0]).toBe(0);
    expect(pickBatch([], limits(4))).toEqual([]);
  });

  it('adds the texts nearest in length to the oldest, up to the batch size', () => {
    expect(pickBatch(q(100, 20, 97, 300, 101, 99), limits(3))).toEqual([0, 4, 5]);
  });

  it('leaves out texts whose padding would exceed the allowed share of real tokens', () => {
    // 100 + 20 padded to 2×100 = 200 > 120 × 1.25
    expect(pickBatch(q(100, 20), limits(8))).toEqual([0]);
    expect(pickBatch(q(100, 90), limits(8))).toEqual([0, 1]);
  });

  it('keeps the padded batch (texts × longest) within the token budget', () => {
    expect(pickBatch(q(120, 118, 119, 121), limits(8, 0.25, 256))).toEqual([0, 2]); // 2 × 120 fits, 3 × 121 does not
    expect(pickBatch(q(60, 60, 60, 60, 60), limits(8, 0.25, 256))).toEqual([0, 1, 2, 3]);
    expect(pickBatch(q(256, 256), limits(8, 0.25, 256))).toEqual([0]); // a full-length text runs alone
    expect(pickBatch(q(300), limits(8, 0.25, 256))).toEqual([0]); // the head always runs
  });

  it('runs a text alone after its batch failed, and never batches with maxBatch 1', () => {
    expect(pickBatch([{ tokens: 50, alone: true }, ...q(50, 50)], limits(8))).toEqual([0]);
    expect(pickBatch([...q(50), { tokens: 50, alone: true }, ...q(50)], limits(8))).toEqual([0, 2]);
    expect(pickBatch(q(50, 50, 50), limits(1))).toEqual([0]);
  });

  it('estimates tokens from the length, capped at max_length', () => {
    expect(estimateTokens('', 256)).toBe(2);
    expect(estimateTokens('abcdefgh', 256)).toBe(4);
    expect(estimateTokens('x'.repeat(10_000), 256)).toBe(256);
  });
});
