import { estimateTokens, pickBatch } from './pick-batch';

const q = (...tokens: number[]) => tokens.map((t) => ({ tokens: t, alone: false }));

describe('pickBatch (the one length-aware batching decision)', () => {
  it('always starts with the oldest waiting text', () => {
    expect(pickBatch(q(40, 10, 10, 10), 4, 0.25)[0]).toBe(0);
    expect(pickBatch([], 4, 0.25)).toEqual([]);
  });

  it('adds the texts nearest in length to the oldest, up to the batch size', () => {
    expect(pickBatch(q(100, 20, 97, 300, 101, 99), 3, 0.25)).toEqual([0, 4, 5]);
  });

  it('leaves out texts whose padding would exceed the allowed share of real tokens', () => {
    // 100 + 20 padded to 2×100 = 200 > 120 × 1.25
    expect(pickBatch(q(100, 20), 8, 0.25)).toEqual([0]);
    expect(pickBatch(q(100, 90), 8, 0.25)).toEqual([0, 1]);
  });

  it('runs a text alone after its batch failed, and never batches with maxBatch 1', () => {
    expect(pickBatch([{ tokens: 50, alone: true }, ...q(50, 50)], 8, 0.25)).toEqual([0]);
    expect(pickBatch([...q(50), { tokens: 50, alone: true }, ...q(50)], 8, 0.25)).toEqual([0, 2]);
    expect(pickBatch(q(50, 50, 50), 1, 0.25)).toEqual([0]);
  });

  it('estimates tokens from the length, capped at max_length', () => {
    expect(estimateTokens('', 256)).toBe(2);
    expect(estimateTokens('abcdefgh', 256)).toBe(4);
    expect(estimateTokens('x'.repeat(10_000), 256)).toBe(256);
  });
});
