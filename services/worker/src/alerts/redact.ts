import type { AlertDestination } from './alert-destinations';

const ANY_URL = /\bhttps?:\/\/[^\s"'<>]+/gi;

export type Redactor = (text: string) => string;

/**
 * Webhook URLs carry their credentials in the path (Slack, Discord), so error texts and log
 * lines lose every configured URL and secret, and any other URL for good measure.
 */
export function createRedactor(destinations: readonly AlertDestination[]): Redactor {
  const secrets = destinations
    .flatMap((d) => [d.url, d.secret ?? ''])
    .filter((s) => s.length > 0)
    .sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text).replace(ANY_URL, '[redacted-url]');
}
