/**
 * `npm run bench:fsync`: what `REDIS_APPENDFSYNC=always` costs. For each AOF fsync policy it
 * starts the gateway on an embedded redis-server with AOF (no workers, so only the accept path
 * is measured) and fires POST /v2/tickets with autocannon, as `npm run bench` part (d) does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { z } from 'zod';
import { errorMessage, loadConfigOrExit, parseEnv } from '@triage/shared';
import { APPENDFSYNC_MODES, freePort } from './embedded-redis';
import { startStack } from './stack';
import { loadSampleTickets } from './ticket-samples';

const configSchema = z.object({
  FSYNC_BENCH_REQUESTS: z.coerce.number().int().min(100).default(20_000),
  FSYNC_BENCH_CONNECTIONS: z.coerce.number().int().min(1).default(32),
  FSYNC_BENCH_MODES: z
    .string()
    .default('everysec,always')
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(APPENDFSYNC_MODES))),
});

async function measure(mode: (typeof APPENDFSYNC_MODES)[number], config: z.output<typeof configSchema>, bodies: string[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'triage-fsync-'));
  const stack = await startStack({
    redisDataDir: dataDir,
    redisAppendFsync: mode,
    port: await freePort(),
    workers: 0,
    env: { REDIS_PREFIX: 'fsync', LOG_LEVEL: 'error', AUTH: 'off', RATE_LIMIT_CLIENT: '0', RATE_LIMIT_AGENT: '0', RATE_LIMIT_ADMIN: '0' },
    quiet: true,
  });
  try {
    const headers = { 'content-type': 'application/json' };
    const requests = bodies.map((body) => ({ method: 'POST' as const, headers, body }));
    await autocannon({ url: `${stack.url}/v2/tickets`, connections: 8, amount: 2_000, requests }); // warm-up
    const result = await autocannon({ url: `${stack.url}/v2/tickets`, connections: config.FSYNC_BENCH_CONNECTIONS, amount: config.FSYNC_BENCH_REQUESTS, requests });
    return {
      mode,
      accepts_per_s: Math.round(result['2xx'] / result.duration),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      non_2xx: result.non2xx,
    };
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => parseEnv(configSchema));
  const bodies = loadSampleTickets(50).tickets.map((t) => JSON.stringify(t.subject ? { subject: t.subject, body: t.body } : { body: t.body }));
  console.log(`AOF fsync policy vs accept path: ${config.FSYNC_BENCH_REQUESTS} POSTs, ${config.FSYNC_BENCH_CONNECTIONS} connections; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('| appendfsync | accepts/s | p50 | p99 | non-2xx |');
  console.log('|---|---|---|---|---|');
  for (const mode of config.FSYNC_BENCH_MODES) {
    const r = await measure(mode, config, bodies);
    console.log(`| ${r.mode} | ${r.accepts_per_s} | ${r.p50_ms} ms | ${r.p99_ms} ms | ${r.non_2xx} |`);
  }
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
