import winston from 'winston';

export type Logger = winston.Logger;

/** What an Error becomes in a log line; JSON.stringify alone turns it into `{}`. */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const { code, errno, syscall } = err as NodeJS.ErrnoException;
  return {
    name: err.name,
    message: err.message,
    ...(code === undefined ? {} : { code }),
    ...(errno === undefined ? {} : { errno }),
    ...(syscall === undefined ? {} : { syscall }),
    stack: err.stack,
    // A cause chain is where "Command timed out" or ECONNREFUSED usually hides.
    ...(err.cause !== undefined && depth < 3 ? { cause: serializeError(err.cause, depth + 1) } : {}),
  };
}

/** Serializes Error values passed as metadata (`logger.error('x', { err })`) with message and stack. */
const errorsInMeta = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) if (value instanceof Error) info[key] = serializeError(value);
  return info;
});

/**
 * Drops entries below `level` before any formatting: winston formats every entry (timestamp, JSON) and
 * only its transport filters by level, so each request's `http` line was serialised and then thrown away.
 */
function atLeast(level: string) {
  const { levels } = winston.config.npm;
  const max = levels[level] ?? levels.info;
  return winston.format((info) => (levels[info.level] ?? 0) <= max && info)();
}

/** One JSON object per line on stdout; callers add `request_id` / `ticket_id` via `child()`. */
export function createLogger(service: string, level = 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service, pid: process.pid },
    format: winston.format.combine(atLeast(level), winston.format.timestamp(), winston.format.errors({ stack: true }), errorsInMeta(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}

/** A logger that drops everything, for tests that assert on behaviour rather than logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * Logs the first event of a burst, then at most one summary line per window saying how many
 * more happened: an outage produces a handful of lines instead of one per request or retry.
 */
export function throttledLog(logger: Logger, level: LogLevel, message: string, windowMs = 10_000) {
  let windowEnds = 0;
  let suppressed = 0;
  let lastMeta: Record<string, unknown> = {};
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (suppressed > 0) logger.log(level, `${message} (repeated)`, { ...lastMeta, repeated: suppressed, window_ms: windowMs });
    suppressed = 0;
  };
  return (meta: Record<string, unknown> = {}) => {
    const now = Date.now();
    if (now >= windowEnds) {
      windowEnds = now + windowMs;
      logger.log(level, message, meta);
      return;
    }
    suppressed += 1;
    lastMeta = meta;
    timer ??= setTimeout(flush, windowEnds - now).unref();
  };
}
