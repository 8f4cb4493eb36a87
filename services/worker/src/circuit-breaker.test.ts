import type { BreakerSnapshot, BreakerState } from '@triage/shared';
import { CircuitBreaker, type Permit } from './circuit-breaker';

function breaker(failureThreshold = 3, cooldownMs = 1_000) {
  let now = 1_700_000_000_000;
  const changes: [BreakerState, BreakerState][] = [];
  const b = new CircuitBreaker({ failureThreshold, cooldownMs, now: () => now });
  b.onChange((s: BreakerSnapshot, previous) => changes.push([previous, s.state]));
  return { b, changes, advance: (ms: number) => (now += ms) };
}

const fail = (b: CircuitBreaker, reason = 'boom') => b.failure(b.acquire() as Permit, reason);

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and a success resets the count', () => {
    const { b } = breaker(3);
    fail(b);
    fail(b);
    b.success(b.acquire() as Permit);
    fail(b);
    fail(b);
    expect(b.snapshot()).toMatchObject({ state: 'closed', consecutive_failures: 2, reason: null });
  });

  it('opens on the Nth consecutive failure and then refuses calls until the cool-down ends', () => {
    const { b, changes, advance } = breaker(3, 1_000);
    for (let i = 0; i < 3; i++) fail(b, `slow ${i}`);
    expect(b.snapshot()).toMatchObject({ state: 'open', consecutive_failures: 3, reason: 'slow 2' });
    expect(changes).toEqual([['closed', 'open']]);
    expect(b.acquire()).toBeNull();
    advance(999);
    expect(b.acquire()).toBeNull();
  });

  it('lets exactly one probe through when half-open; its success closes the breaker', () => {
    const { b, changes, advance } = breaker(1, 1_000);
    fail(b);
    advance(1_000);
    const probe = b.acquire();
    expect(probe).toEqual({ probe: true });
    expect(b.snapshot().state).toBe('half_open');
    expect(b.acquire()).toBeNull();
    b.success(probe!);
    expect(b.snapshot()).toMatchObject({ state: 'closed', consecutive_failures: 0, reason: null });
    expect(b.acquire()).toEqual({ probe: false });
    expect(changes).toEqual([['closed', 'open'], ['open', 'half_open'], ['half_open', 'closed']]);
  });

  it('re-opens for a fresh cool-down when the probe fails', () => {
    const { b, advance } = breaker(1, 1_000);
    fail(b);
    advance(1_500);
    const probe = b.acquire()!;
    b.failure(probe, 'still broken');
    expect(b.snapshot()).toMatchObject({ state: 'open', reason: 'still broken' });
    advance(999);
    expect(b.acquire()).toBeNull();
    advance(1);
    expect(b.acquire()).toEqual({ probe: true });
  });

  it('ignores late outcomes of calls that started before it opened', () => {
    const { b, advance } = breaker(2, 1_000);
    const early = b.acquire()!;
    fail(b);
    fail(b);
    b.success(early);
    expect(b.snapshot().state).toBe('open');
    advance(1_000);
    const probe = b.acquire()!;
    b.failure(early, 'late');
    expect(b.snapshot().state).toBe('half_open');
    b.success(probe);
    expect(b.snapshot().state).toBe('closed');
  });

  it('trip() opens without counting, and the cool-down still applies', () => {
    const { b, advance } = breaker(5, 1_000);
    b.trip('encoder failed to load: model missing');
    expect(b.snapshot()).toMatchObject({ state: 'open', consecutive_failures: 0, reason: 'encoder failed to load: model missing' });
    expect(b.acquire()).toBeNull();
    advance(1_000);
    expect(b.acquire()).toEqual({ probe: true });
  });
});
