import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  errorMessage,
  ConfigError,
  type DestinationType,
  type ModelConfig,
  type WorkerConfig,
  destinationIdSchema,
  destinationTypeSchema,
  isSecureWebhookUrl,
  readModelConfig,
  webhookSecret,
  webhookUrl,
} from '@triage/shared';

export interface RateLimit {
  max: number;
  durationMs: number;
}

export interface AlertDestination {
  id: string;
  type: DestinationType;
  url: string;
  /** HMAC key of generic destinations. */
  secret?: string;
  /** null: the served model's alert_threshold, so it follows a promotion. */
  threshold: number | null;
  /** Only tickets predicted into one of these queues; null = every queue. */
  queues: string[] | null;
  rateLimit: RateLimit;
}

/**
 * Slack allows ~1 message/s per incoming webhook, Discord 5 requests per 2 s. BullMQ's limiter
 * counts in fixed windows, so "5 per 2 s" can let 10 through within milliseconds across a
 * window boundary, which a sliding-window receiver answers with 429s. One message at a time
 * with ~10 % headroom never trips either limit (measured with `npm run bench:alerts`).
 * Generic receivers are ours to choose; 10/s is a polite default.
 */
export const DEFAULT_RATE_LIMITS: Record<DestinationType, RateLimit> = {
  slack: { max: 1, durationMs: 1_100 },
  discord: { max: 1, durationMs: 440 },
  generic: { max: 10, durationMs: 1_000 },
};

const fileDestinationSchema = z
  .strictObject({
    id: destinationIdSchema,
    type: destinationTypeSchema,
    url: webhookUrl,
    secret: webhookSecret.optional(),
    threshold: z.number().min(0).max(1).optional(),
    queues: z.array(z.string().min(1)).min(1).optional(),
    rate_limit: z.strictObject({ max: z.int().min(1), duration_ms: z.int().min(1) }).optional(),
  })
  .refine((d) => d.type !== 'generic' || d.secret !== undefined, { message: 'generic destinations need a secret', path: ['secret'] })
  .refine((d) => d.type === 'generic' || isSecureWebhookUrl(d.url), {
    message: 'must be an https URL (Slack and Discord webhooks are https)',
    path: ['url'],
  });

const alertsFileSchema = z.strictObject({ destinations: z.array(fileDestinationSchema) });

/** Only when neither ALERT_THRESHOLD nor the model names a threshold. */
export const FALLBACK_ALERT_THRESHOLD = 0.8;

/**
 * A model's own `alert_threshold`: urgency scales differ between models (the shipped one's p95 is
 * ≈ 0.8), so a fixed number would silence one model and flood with another.
 */
export function modelAlertThreshold(modelConfig: ModelConfig | null | undefined): number {
  return modelConfig?.alert_threshold ?? FALLBACK_ALERT_THRESHOLD;
}

/** MODEL_DIR's threshold, read once: for an alert side without a triage worker (tests, the alert bench). */
export function fixedModelAlertThreshold(config: WorkerConfig): () => number {
  let threshold = FALLBACK_ALERT_THRESHOLD;
  try {
    threshold = modelAlertThreshold(readModelConfig(config.MODEL_DIR));
  } catch {
    // The triage worker reports an unreadable model directory itself, with the file at fault.
  }
  return () => threshold;
}

function fromEnv(config: WorkerConfig, threshold: number | null): AlertDestination[] {
  const base = (id: string, type: DestinationType, url: string): AlertDestination => ({
    id,
    type,
    url,
    threshold,
    queues: null,
    rateLimit: DEFAULT_RATE_LIMITS[type],
  });
  const out: AlertDestination[] = [];
  if (config.SLACK_WEBHOOK_URL) out.push(base('slack', 'slack', config.SLACK_WEBHOOK_URL));
  if (config.DISCORD_WEBHOOK_URL) out.push(base('discord', 'discord', config.DISCORD_WEBHOOK_URL));
  if (config.WEBHOOK_URL) {
    if (!config.WEBHOOK_SECRET) throw new ConfigError('Invalid configuration:\n  WEBHOOK_SECRET: required when WEBHOOK_URL is set');
    out.push({ ...base('webhook', 'generic', config.WEBHOOK_URL), secret: config.WEBHOOK_SECRET });
  }
  return out;
}

function fromFile(path: string, defaultThreshold: number | null): AlertDestination[] {
  let raw: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ALERTS_CONFIG: cannot read ${path}: ${errorMessage(err)}`);
  }
  const parsed = alertsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ALERTS_CONFIG ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data.destinations.map((d) => ({
    id: d.id,
    type: d.type,
    url: d.url,
    ...(d.secret === undefined ? {} : { secret: d.secret }),
    threshold: d.threshold ?? defaultThreshold,
    queues: d.queues ?? null,
    rateLimit: d.rate_limit ? { max: d.rate_limit.max, durationMs: d.rate_limit.duration_ms } : DEFAULT_RATE_LIMITS[d.type],
  }));
}

/**
 * Every alert destination, from env and ALERTS_CONFIG; called once at worker start-up. A destination
 * without a threshold of its own takes ALERT_THRESHOLD, else (null) the served model's.
 */
export function loadAlertDestinations(config: WorkerConfig): AlertDestination[] {
  const threshold = config.ALERT_THRESHOLD ?? null;
  const all = [...fromEnv(config, threshold), ...(config.ALERTS_CONFIG ? fromFile(config.ALERTS_CONFIG, threshold) : [])];
  const seen = new Set<string>();
  for (const d of all) {
    if (seen.has(d.id)) throw new ConfigError(`Invalid configuration:\n  alert destination id "${d.id}" is used twice`);
    seen.add(d.id);
  }
  return all;
}
