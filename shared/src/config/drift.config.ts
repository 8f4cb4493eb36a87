import { z } from 'zod';
import { parseWindow } from '../monitoring/window';
import { positiveInt } from './env';

/** Read by the gateway (GET /v2/monitoring/drift, gauges) and the worker (the drift alert), so both spread it. */
export const driftEnv = {
  // A drift signal gets a PSI only with this many tickets in the window (fewer make PSI noise).
  DRIFT_MIN_SAMPLES: positiveInt().default(200),
};

/**
 * The window the worker's drift alert evaluates, and how long a signal must stay below 0.25 before
 * it can alert again. 24h by default: the window GET /v2/monitoring/drift shows unless asked otherwise.
 */
export const driftAlertWindow = z
  .string()
  .default('24h')
  .transform((text, ctx) => {
    const ms = parseWindow(text);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a window like 30m, 24h or 7d (1 minute to 7 days)' });
      return z.NEVER;
    }
    return { text, ms };
  });
