import type { RedisServerHandle } from './redis-server';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __TRIAGE_REDIS__?: RedisServerHandle }).__TRIAGE_REDIS__?.stop();
}
