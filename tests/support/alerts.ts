import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import winston from 'winston';
import { type Logger, type TicketResponse, workerConfigSchema } from '@triage/shared';
import { loadAlertDestinations } from '../../services/worker/src/alerts/alert-destinations';
import { startAlerts } from '../../services/worker/src/alerts/alerts-runtime';
import { testRedisUrl } from './test-redis';

/** A logger whose JSON lines land in `lines`, to check what the worker would print. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

export function alertsTestConfig(prefix: string, env: Record<string, string>) {
  return workerConfigSchema.parse({
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    WORKER_ID: `test-${randomUUID().slice(0, 8)}`,
    ALERT_BACKOFF_MS: '100',
    ALERT_TIMEOUT_MS: '2000',
    ...env,
  });
}

/**
 * The worker's alert side (queues, limiters, processors) exactly as main.ts wires it; `modelThreshold`
 * stands for the served model's alert_threshold (MODEL_DIR's when absent).
 */
export async function startTestAlerts(prefix: string, env: Record<string, string>, logger: Logger = capturingLogger().logger, modelThreshold?: () => number) {
  const config = alertsTestConfig(prefix, env);
  return startAlerts(config, loadAlertDestinations(config), logger, undefined, modelThreshold);
}

/** A processed ticket as the triage processor hands it to `onProcessed`. */
export function processedTicket(overrides: Partial<TicketResponse> = {}): TicketResponse {
  return {
    ticket_id: randomUUID(),
    subject: 'Production database unreachable',
    body: 'All our services report connection refused since 09:12. Customers cannot log in. <!channel> @everyone',
    customer_id: null,
    channel: null,
    metadata: null,
    status: 'processed',
    category: 'Technical Support',
    confidence: 0.91,
    top3: [{ category: 'Technical Support', probability: 0.91 }],
    urgency_score: 0.93,
    action: 'AUTO_ROUTE',
    model_version: 'test',
    model_used: 'encoder',
    accepted_at: new Date().toISOString(),
    processed_at: new Date().toISOString(),
    timings: { queue_ms: 1, inference_ms: 1 },
    effective_priority: null,
    sla: null,
    lease: null,
    done: null,
    correction: null,
    ...overrides,
  };
}
