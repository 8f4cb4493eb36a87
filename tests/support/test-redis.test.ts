import { eventually } from './test-redis';

describe('eventually', () => {
  it('returns the first value the probe gives', async () => {
    let calls = 0;
    await expect(eventually('the third call', async () => (++calls === 3 ? 'done' : undefined), { intervalMs: 1 })).resolves.toBe('done');
    expect(calls).toBe(3);
  });

  it('fails after its timeout, naming what never happened', async () => {
    await expect(eventually('ticket t-1 processed', async () => undefined, { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      'eventually: ticket t-1 processed did not happen within 30 ms',
    );
  });

  it('fails at once when the probe throws', async () => {
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('receiver answered 500');
    };
    await expect(eventually('a delivery', failing)).rejects.toThrow('receiver answered 500');
    expect(calls).toBe(1);
  });
});
