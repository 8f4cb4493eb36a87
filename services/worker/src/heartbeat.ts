import { hostname } from 'node:os';
import type { BreakerSnapshot, Logger, WorkerRegistry } from '@triage/shared';

export interface HeartbeatOptions {
  workerId: string;
  intervalMs: number;
  ttlMs: number;
  /** Read at every beat: the model version and breaker state can change while the worker runs. */
  status: () => { modelVersion: string; breaker: BreakerSnapshot };
}

export interface Heartbeat {
  /** Publishes now instead of at the next interval (e.g. when the breaker changes state). */
  beatNow(): void;
  stop(): Promise<void>;
}

/** Keeps this worker visible to the gateway's /ready. */
export async function startHeartbeat(registry: WorkerRegistry, options: HeartbeatOptions, logger: Logger): Promise<Heartbeat> {
  const startedAt = new Date().toISOString();
  let stopped = false;
  const beat = () => {
    const { modelVersion, breaker } = options.status();
    return registry.beat(
      {
        worker_id: options.workerId,
        model_version: modelVersion,
        pid: process.pid,
        host: hostname(),
        started_at: startedAt,
        beat_at: new Date().toISOString(),
        breaker,
      },
      options.ttlMs,
    );
  };
  const beatLogged = () => {
    if (stopped) return;
    beat().catch((err: Error) => logger.warn('heartbeat failed', { error: err.message }));
  };
  await beat();
  const timer = setInterval(beatLogged, options.intervalMs);
  return {
    beatNow: beatLogged,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await registry.remove(options.workerId);
    },
  };
}
