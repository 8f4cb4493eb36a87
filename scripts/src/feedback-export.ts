/**
 * `npm run feedback:export -- --out corrections.csv [--since <ISO time>]`: the agents' corrections
 * (the `<prefix>:feedback` stream) as a training CSV, one row per ticket, the last correction winning.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FeedbackReader, correctionRows, redisKeys, toCsv } from '@triage/shared';
import { UsageError, runCli, withCliRedis } from './cli-redis';


const USAGE = 'usage: npm run feedback:export -- --out <file.csv> [--since <ISO time>]';

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { out: { type: 'string' }, since: { type: 'string' } } });
  if (!values.out) throw new UsageError('--out is required');
  const since = values.since === undefined ? 0 : Date.parse(values.since);
  if (Number.isNaN(since)) throw new UsageError(`--since "${values.since}" is not a date/time`);
  const out = values.out;
  await withCliRedis(async (redis, config) => {
    const { entries, skipped } = await new FeedbackReader(redis, redisKeys(config.REDIS_PREFIX)).since(since);
    const rows = correctionRows(entries);
    writeFileSync(out, toCsv(rows));
    const relabelled = rows.filter((r) => r.queue !== r.predicted_queue).length;
    process.stdout.write(
      `wrote ${rows.length} tickets (${entries.length} corrections${skipped ? `, ${skipped} malformed skipped` : ''}; ${relabelled} moved to another queue) to ${out}\n`,
    );
  });
}

runCli(main, USAGE);
