import type { Logger } from './logger';

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT: a terminal Ctrl-C reaches the launcher and its
 * children alike, and a second signal must not start a second, overlapping shutdown. Exits 0 when
 * `stop` finishes, 1 when it outlives `timeoutMs` (an orchestrator would SIGKILL us anyway).
 */
export function stopOnSignals(logger: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown timed out, exiting');
      process.exit(1);
    }, timeoutMs).unref();
    await stop();
    clearTimeout(force);
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
}
