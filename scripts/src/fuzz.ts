/**
 * `npm run fuzz`: schemathesis against /openapi.json with a valid API key — every operation,
 * FUZZ_EXAMPLES generated cases each, all of schemathesis's checks (no 5xx, every response as the
 * document says). Starts its own stack (embedded Redis, gateway, one worker) unless FUZZ_URL is
 * set; then FUZZ_API_KEY must hold a key with every scope.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage, loadConfigOrExit, parseEnv, positiveInt } from '@triage/shared';
import { freePort } from './embedded-redis';
import { type Stack, startStack } from './stack';

const fuzzConfigSchema = z.object({
  FUZZ_URL: z.url().optional(),
  FUZZ_API_KEY: z.string().min(1).optional(),
  FUZZ_EXAMPLES: positiveInt(10_000).default(100),
  // schemathesis prints 128-bit seeds: kept as digits, not a JS number
  FUZZ_SEED: z.string().regex(/^\d+$/, 'a non-negative integer').optional(),
  SCHEMATHESIS_BIN: z.string().min(1).default('schemathesis'),
});

/** Runs in `cwd` (a temporary directory), so schemathesis's .schemathesis cache stays out of the repo. */
function runSchemathesis(bin: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: 'inherit', env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    child.once('error', (err) => reject(new Error(`cannot run ${bin} (${err.message}); pip install -r requirements-fuzz.txt`)));
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => parseEnv(fuzzConfigSchema));
  if (config.FUZZ_URL && !config.FUZZ_API_KEY) throw new Error('FUZZ_URL needs FUZZ_API_KEY (a key with the client, agent and admin scopes)');
  let stack: Stack | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'triage-fuzz-'));
  try {
    if (!config.FUZZ_URL) {
      stack = await startStack({
        redisDataDir: dataDir,
        port: await freePort(),
        workers: 1,
        // Rate limits off: the fuzzer should reach the routes, not the limiter (which has its own tests).
        env: { REDIS_PREFIX: 'fuzz', LOG_LEVEL: 'warn', AUTH: 'on', RATE_LIMIT_CLIENT: '0', RATE_LIMIT_AGENT: '0', RATE_LIMIT_ADMIN: '0', WORKER_CONCURRENCY: '2' },
        quiet: true,
        keyName: 'fuzz',
      });
    }
    const url = config.FUZZ_URL ?? stack!.url;
    const key = config.FUZZ_API_KEY ?? stack!.apiKey!;
    console.log(`Fuzzing ${url}/openapi.json: ${config.FUZZ_EXAMPLES} examples per operation, all checks`);
    const code = await runSchemathesis(config.SCHEMATHESIS_BIN, [
      'run',
      `${url}/openapi.json`,
      '--checks',
      'all',
      '--max-examples',
      String(config.FUZZ_EXAMPLES),
      '--header',
      `Authorization: Bearer ${key}`,
      '--workers',
      '2',
      '--request-timeout',
      '30',
      '--no-color',
      ...(config.FUZZ_SEED === undefined ? [] : ['--seed', config.FUZZ_SEED]),
    ], dataDir);
    process.exitCode = code;
  } finally {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
