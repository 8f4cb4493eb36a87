import { z } from 'zod';
import { positiveInt, probability, unsetIfEmpty } from './env';

export const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;
/** https or a loopback host (a local receiver); the whole URL is the credential, so it never goes out in clear text. */
export const isSecureWebhookUrl = (url: string): boolean => {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || LOOPBACK.test(hostname);
};
/** Slack and Discord hooks are always https; plain http is refused except on loopback. */
export const chatWebhookUrl = webhookUrl.refine(isSecureWebhookUrl, 'must be an https URL (Slack and Discord webhooks are https)');
// Short secrets make the HMAC guessable; 16 chars is the floor, 32 random bytes is the advice.
export const webhookSecret = z.string().min(16, 'must be at least 16 characters');

/** Alert settings of the worker's env; spread into its schema so they are parsed with it, once. */
export const alertsEnv = {
  SLACK_WEBHOOK_URL: unsetIfEmpty(chatWebhookUrl),
  DISCORD_WEBHOOK_URL: unsetIfEmpty(chatWebhookUrl),
  WEBHOOK_URL: unsetIfEmpty(webhookUrl),
  WEBHOOK_SECRET: unsetIfEmpty(webhookSecret),
  /** JSON or YAML file with any number of destinations (see README, "Alerts"). */
  ALERTS_CONFIG: unsetIfEmpty(z.string().min(1)),
  /** Unset: the threshold the model's card picked on validation (`alert_threshold` in its config.json). */
  ALERT_THRESHOLD: unsetIfEmpty(probability()),
  /** Base of the ticket link in alerts; no link without it. */
  PUBLIC_URL: unsetIfEmpty(webhookUrl),
  ALERT_TIMEOUT_MS: positiveInt(120_000).default(5_000),
  ALERT_ATTEMPTS: positiveInt(50).default(12),
  ALERT_BACKOFF_MS: positiveInt(600_000).default(2_000),
  STORM_SIZE: positiveInt(10_000).default(10),
  STORM_WINDOW_MS: positiveInt().default(300_000),
  STORM_SIMILARITY: probability().default(0.9),
  /** How long an opened incident waits before posting, so its first message already counts the burst. */
  STORM_SETTLE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  /** At most one incident update per destination per this interval. */
  STORM_UPDATE_MS: positiveInt().default(60_000),
};
