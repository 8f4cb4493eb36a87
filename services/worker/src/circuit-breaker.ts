import type { BreakerSnapshot, BreakerState } from '@triage/shared';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker waits before letting one probe through. */
  cooldownMs: number;
  now?: () => number;
}

/** Permission to call the protected dependency; a probe decides whether a half-open breaker closes. */
export interface Permit {
  readonly probe: boolean;
}

export type BreakerListener = (snapshot: BreakerSnapshot, previous: BreakerState) => void;

/**
 * Closed → (N consecutive failures) → open → (cool-down) → half-open: exactly one probe call at
 * a time; its success closes the breaker, its failure opens it for another cool-down. Outcomes of
 * calls that started before the breaker opened are ignored: only the probe may close it.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private since: number;
  private failures = 0;
  private reason: string | null = null;
  private probing = false;
  private readonly listeners: BreakerListener[] = [];
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
    this.since = this.now();
  }

  onChange(listener: BreakerListener): void {
    this.listeners.push(listener);
  }

  /** A permit to call the dependency, or null: use the fallback. */
  acquire(): Permit | null {
    if (this.state === 'closed') return { probe: false };
    if (this.state === 'open' && this.now() - this.since >= this.options.cooldownMs) this.transition('half_open', this.reason);
    if (this.state === 'half_open' && !this.probing) {
      this.probing = true;
      return { probe: true };
    }
    return null;
  }

  success(permit: Permit): void {
    if (permit.probe) {
      this.probing = false;
      this.failures = 0;
      this.transition('closed', null);
    } else if (this.state === 'closed') {
      this.failures = 0;
    }
  }

  failure(permit: Permit, reason: string): void {
    if (permit.probe) {
      this.probing = false;
      this.failures += 1;
      this.transition('open', reason);
    } else if (this.state === 'closed') {
      this.failures += 1;
      if (this.failures >= this.options.failureThreshold) this.transition('open', reason);
    }
  }

  /** Opens without counting, e.g. when the dependency could not even be set up. */
  trip(reason: string): void {
    this.probing = false;
    this.transition('open', reason);
  }

  snapshot(): BreakerSnapshot {
    return { state: this.state, since: new Date(this.since).toISOString(), consecutive_failures: this.failures, reason: this.reason };
  }

  private transition(to: BreakerState, reason: string | null): void {
    const previous = this.state;
    this.reason = reason;
    // Re-opening after a failed probe restarts the cool-down, so `since` moves on every transition.
    this.since = this.now();
    this.state = to;
    const snapshot = this.snapshot();
    for (const listener of this.listeners) listener(snapshot, previous);
  }
}
