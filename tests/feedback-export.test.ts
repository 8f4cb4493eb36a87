import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import type { Redis } from 'ioredis';
import { redisKeys } from '@triage/shared';
import { plainRedis, testRedisUrl, uniquePrefix } from './support/test-redis';
import { REPO_ROOT } from './support/worker';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'scripts', 'dist', 'feedback-export.js');

let redis: Redis;
beforeAll(() => {
  redis = plainRedis();
});
afterAll(() => redis.quit());

async function exportCsv(prefix: string, args: string[] = []) {
  const out = join(mkdtempSync(join(tmpdir(), 'triage-export-')), 'corrections.csv');
  const { stdout } = await run(process.execPath, [CLI, '--out', out, ...args], { env: { ...process.env, REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix } });
  return { stdout, rows: parse<Record<string, string>>(readFileSync(out, 'utf8'), { columns: true }) };
}

const entry = (fields: Record<string, string>) => ({
  agent_id: 'alice',
  at: new Date().toISOString(),
  predicted_queue: 'Billing and Payments',
  predicted_urgency: '0.4',
  model_version: 'sha256:aaa',
  subject: 'Invoice "March", twice',
  body: 'Line one\nline two',
  ...fields,
});

describe('npm run feedback:export', () => {
  it('writes one training row per ticket, the last correction winning, priority only when given', async () => {
    const prefix = uniquePrefix('export');
    const feedback = redisKeys(prefix).feedback;
    const add = (f: Record<string, string>) => redis.xadd(feedback, '*', ...Object.entries(entry(f)).flat());
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await add({ ticket_id: a, queue: 'Technical Support', language: 'en' });
    await add({ ticket_id: b, priority: 'high' });
    await add({ ticket_id: a, queue: 'IT Support' });
    await add({ ticket_id: c, queue: 'Customer Service', priority: 'low', subject: '' });
    await redis.xadd(feedback, '*', 'ticket_id', 'broken');

    const { stdout, rows } = await exportCsv(prefix);
    expect(stdout).toMatch(/wrote 3 tickets \(4 corrections, 1 malformed skipped; 2 moved to another queue\)/);
    expect(rows.map((r) => [r.ticket_id, r.queue, r.priority, r.language, r.source])).toEqual([
      [b, 'Billing and Payments', 'high', '', 'feedback'],
      [a, 'IT Support', '', 'en', 'feedback'],
      [c, 'Customer Service', 'low', '', 'feedback'],
    ]);
    // The data files' newline convention, and CSV quoting that survives commas and quotes.
    expect(rows[0]!.body).toBe('Line one\\nline two');
    expect(rows[0]!.subject).toBe('Invoice "March", twice');
    expect(rows[2]!.subject).toBe('');
    expect(Object.keys(rows[0]!)).toEqual(expect.arrayContaining(['subject', 'body', 'queue', 'priority', 'language', 'source']));
  });

  it('exports only corrections since a time, and refuses bad arguments', async () => {
    const prefix = uniquePrefix('export-since');
    const feedback = redisKeys(prefix).feedback;
    const recent = randomUUID();
    await redis.xadd(feedback, '1000-0', ...Object.entries(entry({ ticket_id: randomUUID(), queue: 'IT Support' })).flat());
    await redis.xadd(feedback, '*', ...Object.entries(entry({ ticket_id: recent, queue: 'IT Support' })).flat());
    const { rows } = await exportCsv(prefix, ['--since', new Date(Date.now() - 60_000).toISOString()]);
    expect(rows.map((r) => r.ticket_id)).toEqual([recent]);
    await expect(run(process.execPath, [CLI], { env: { ...process.env, REDIS_URL: testRedisUrl() } })).rejects.toMatchObject({ code: 64 });
    await expect(run(process.execPath, [CLI, '--out', '/tmp/x.csv', '--since', 'yesterday-ish'], { env: { ...process.env, REDIS_URL: testRedisUrl() } })).rejects.toMatchObject({ code: 64 });
  });
});
