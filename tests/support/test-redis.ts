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

/** Polls until `probe` returns a non-undefined value; the jest timeout bounds the wait. */
export async function eventually<T>(probe: () => Promise<T | undefined>, intervalMs = 50): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
