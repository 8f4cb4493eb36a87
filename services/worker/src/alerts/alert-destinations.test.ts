import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readModelConfig, workerConfigSchema } from '@triage/shared';
import { FALLBACK_ALERT_THRESHOLD, fixedModelAlertThreshold, loadAlertDestinations, modelAlertThreshold } from './alert-destinations';

const dir = mkdtempSync(join(tmpdir(), 'alerts-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const modelDir = (config: object) => {
  const path = mkdtempSync(join(dir, 'model-'));
  writeFileSync(join(path, 'config.json'), JSON.stringify(config));
  return path;
};
// A model directory whose card picked 0.65, so the default threshold is visible in every test.
const MODEL_DIR = modelDir({ model_version: 'sha256:test', labels: ['A', 'B'], max_length: 64, alert_threshold: 0.65 });
const load = (env: Record<string, string>) => loadAlertDestinations(workerConfigSchema.parse({ MODEL_DIR, ...env }));

describe('alert destinations', () => {
  it('come from the env shortcuts with the global threshold and per-type rate limits', () => {
    const dests = load({
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x',
      DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/t',
      WEBHOOK_URL: 'https://example.com/hook',
      WEBHOOK_SECRET: '0123456789abcdef0123',
      ALERT_THRESHOLD: '0.7',
    });
    expect(dests.map((d) => [d.id, d.type, d.threshold, d.rateLimit])).toEqual([
      ['slack', 'slack', 0.7, { max: 1, durationMs: 1100 }],
      ['discord', 'discord', 0.7, { max: 1, durationMs: 440 }],
      ['webhook', 'generic', 0.7, { max: 10, durationMs: 1000 }],
    ]);
    expect(load({ SLACK_WEBHOOK_URL: '' })).toEqual([]);
  });

  it('refuse plain-http Slack and Discord webhooks (env or file), except on loopback', () => {
    expect(() => workerConfigSchema.parse({ MODEL_DIR, SLACK_WEBHOOK_URL: 'http://hooks.slack.com/services/T/B/x' })).toThrow(/https/);
    expect(() => workerConfigSchema.parse({ MODEL_DIR, DISCORD_WEBHOOK_URL: 'http://discord.com/api/webhooks/1/t' })).toThrow(/https/);
    const path = file('plain.yaml', 'destinations:\n  - { id: chat, type: discord, url: "http://discord.com/api/webhooks/1/t" }\n');
    expect(() => load({ ALERTS_CONFIG: path })).toThrow(/https/);
    expect(load({ SLACK_WEBHOOK_URL: 'http://127.0.0.1:9000/hook' }).map((d) => d.url)).toEqual(['http://127.0.0.1:9000/hook']);
  });

  it('come from an ALERTS_CONFIG YAML file with thresholds, queue filters and rate limits', () => {
    const path = file(
      'alerts.yaml',
      [
        'destinations:',
        '  - id: billing-oncall',
        '    type: slack',
        '    url: https://hooks.slack.com/services/T/B/billing',
        '    threshold: 0.9',
        '    queues: [Billing and Payments]',
        '  - id: partner',
        '    type: generic',
        '    url: https://partner.example.com/triage',
        '    secret: partner-secret-0123456789',
        '    rate_limit: { max: 2, duration_ms: 1000 }',
      ].join('\n'),
    );
    const dests = load({ ALERTS_CONFIG: path, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' });
    expect(dests.map((d) => d.id)).toEqual(['slack', 'billing-oncall', 'partner']);
    expect(dests[1]).toMatchObject({ threshold: 0.9, queues: ['Billing and Payments'], rateLimit: { max: 1, durationMs: 1100 } });
    expect(dests[2]).toMatchObject({ threshold: null, queues: null, rateLimit: { max: 2, durationMs: 1000 } });
    expect(load({ ALERTS_CONFIG: path, ALERT_THRESHOLD: '0.75' }).map((d) => d.threshold)).toEqual([0.9, 0.75]);
  });

  it("without ALERT_THRESHOLD or their own, follow the served model's alert_threshold (0.8 when the model names none)", () => {
    const slack = { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' };
    expect(load(slack)[0]?.threshold).toBeNull();
    expect(load({ ...slack, ALERT_THRESHOLD: '' })[0]?.threshold).toBeNull();
    expect(load({ ...slack, ALERT_THRESHOLD: '0.9' })[0]?.threshold).toBe(0.9);
    expect(modelAlertThreshold(readModelConfig(MODEL_DIR))).toBe(0.65);
    expect(modelAlertThreshold(null)).toBe(FALLBACK_ALERT_THRESHOLD);
    const fixed = (dir: string) => fixedModelAlertThreshold(workerConfigSchema.parse({ MODEL_DIR: dir }))();
    expect(fixed(MODEL_DIR)).toBe(0.65);
    expect(fixed(join(dir, 'no-such-model'))).toBe(FALLBACK_ALERT_THRESHOLD);
  });

  it('reads JSON files too', () => {
    const path = file('alerts.json', JSON.stringify({ destinations: [{ id: 'd', type: 'discord', url: 'https://discord.com/api/webhooks/1/t' }] }));
    expect(load({ ALERTS_CONFIG: path }).map((d) => d.type)).toEqual(['discord']);
  });

  it.each([
    ['a non-http URL', 'destinations:\n  - { id: x, type: slack, url: "file:///etc/passwd" }', /url/],
    ['a generic destination without secret', 'destinations:\n  - { id: x, type: generic, url: "https://e.com/h" }', /secret/],
    ['an unknown field', 'destinations:\n  - { id: x, type: slack, url: "https://e.com/h", channel: "#x" }', /channel/],
    ['an id with a colon', 'destinations:\n  - { id: "a:b", type: slack, url: "https://e.com/h" }', /id/],
  ])('reject %s with a readable ConfigError', (_name, yaml, pattern) => {
    const path = file(`bad-${Math.random()}.yaml`, yaml);
    expect(() => load({ ALERTS_CONFIG: path })).toThrow(ConfigError);
    expect(() => load({ ALERTS_CONFIG: path })).toThrow(pattern);
  });

  it('reject WEBHOOK_URL without WEBHOOK_SECRET, duplicate ids and a missing file', () => {
    expect(() => load({ WEBHOOK_URL: 'https://e.com/h' })).toThrow(/WEBHOOK_SECRET/);
    const dup = file('dup.yaml', 'destinations:\n  - { id: slack, type: slack, url: "https://e.com/h" }');
    expect(() => load({ ALERTS_CONFIG: dup, SLACK_WEBHOOK_URL: 'https://e.com/x' })).toThrow(/used twice/);
    expect(() => load({ ALERTS_CONFIG: join(dir, 'missing.yaml') })).toThrow(ConfigError);
  });
});
