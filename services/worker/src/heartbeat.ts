import { hostname } from 'node:os';
import type { Logger, WorkerRegistry } from '@triage/shared';

export interface HeartbeatOptions {
  workerId: string;
  modelVersion: string;
  intervalMs: number;
  ttlMs: number;
}

/** Keeps this worker visible to the gateway's /ready; returns a function that stops it. */
export async function startHeartbeat(registry: WorkerRegistry, options: HeartbeatOptions, logger: Logger): Promise<() => Promise<void>> {
  const startedAt = new Date().toISOString();
  const beat = () =>
    registry.beat(
      {
        worker_id: options.workerId,
        model_version: options.modelVersion,
        pid: process.pid,
        host: hostname(),
        started_at: startedAt,
        beat_at: new Date().toISOString(),
      },
      options.ttlMs,
    );
  await beat();
  const timer = setInterval(() => {
    beat().catch((err: Error) => logger.warn('heartbeat failed', { error: err.message }));
  }, options.intervalMs);
  return async () => {
    clearInterval(timer);
    await registry.remove(options.workerId);
  };
}
