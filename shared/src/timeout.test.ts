import { withTimeout } from './timeout';

describe('withTimeout', () => {
  it("settles as the work does when it is in time", async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('broken')), 1_000, () => new Error('late'))).rejects.toThrow('broken');
  });

  it('rejects with the timeout error when the work is late, and its late failure stays handled', async () => {
    let fail: (err: Error) => void = () => undefined;
    const work = new Promise<number>((_, reject) => (fail = reject));
    await expect(withTimeout(work, 10, () => new Error('no answer within 10 ms'))).rejects.toThrow('no answer within 10 ms');
    fail(new Error('too late to matter'));
    await new Promise((r) => setImmediate(r));
  });
});
