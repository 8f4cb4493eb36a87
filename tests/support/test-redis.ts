import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is unset: run tests through jest (its globalSetup starts redis-server)');
  return url;
}

/** A fresh key prefix, so test files (and tests) never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

export function plainRedis(url = testRedisUrl()): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

export interface EventuallyOptions {
  /** Below jest's 60 s test timeout by default, so the failure names what never happened. */
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls until `probe` returns a non-undefined value and returns it; after `timeoutMs` it fails with
 * `what` (say what should happen: "ticket t-1 processed"). A probe that throws fails at once.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, { timeoutMs = 45_000, intervalMs = 50 }: EventuallyOptions = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`eventually: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
