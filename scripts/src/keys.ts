/**
 * `npm run keys -- create --name alice --scope agent [--scope admin]` (the key is the last line),
 * `npm run keys -- list [--json]`, `npm run keys -- revoke <id>`.
 * Talks to Redis directly: REDIS_URL, else the Redis of a running `npm start`, else localhost.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { ApiKeyStore, type ApiKeyInfo, apiKeyIdSchema, apiKeyNameSchema, loadConfigOrExit, parseEnv, redisKeys, redisPrefix, redisUrl, scopeSchema } from '@triage/shared';
import { REPO_ROOT, runningRedisUrlFile } from './stack';

const keysConfigSchema = z.object({
  REDIS_URL: redisUrl.optional(),
  REDIS_PREFIX: redisPrefix,
  DATA_DIR: z.string().min(1).default('.data'),
});

const USAGE = `usage:
  npm run keys -- create --name <name> --scope <client|agent|admin> [--scope …]
  npm run keys -- list [--json]
  npm run keys -- revoke <id>`;

class UsageError extends Error {}

function redisUrlOf(config: z.output<typeof keysConfigSchema>): string {
  if (config.REDIS_URL) return config.REDIS_URL;
  try {
    return readFileSync(runningRedisUrlFile(resolve(REPO_ROOT, config.DATA_DIR)), 'utf8').trim();
  } catch {
    return 'redis://127.0.0.1:6379';
  }
}

const row = (k: ApiKeyInfo) =>
  [k.id, k.name.padEnd(20), k.scopes.join(',').padEnd(18), k.created_at, k.last_used_at ?? '-', k.revoked_at ? `revoked ${k.revoked_at}` : 'active'].join('  ');

async function run(store: ApiKeyStore, argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'create') {
    const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, scope: { type: 'string', multiple: true } } });
    const name = apiKeyNameSchema.safeParse(values.name);
    if (!name.success) throw new UsageError('--name is required (1-100 printable characters)');
    const scopes = z.array(scopeSchema).min(1).safeParse(values.scope ?? []);
    if (!scopes.success) throw new UsageError('at least one --scope, each one of: client, agent, admin');
    const { key, info } = await store.create(name.data, scopes.data);
    process.stdout.write(`created API key ${info.id} "${info.name}" with scopes ${info.scopes.join(', ')}.\n`);
    process.stdout.write('It is shown only this once; send it as "Authorization: Bearer <key>":\n');
    process.stdout.write(`${key}\n`);
    return;
  }
  if (command === 'list') {
    const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
    const keys = await store.list();
    if (values.json) process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    else if (keys.length === 0) process.stdout.write('no API keys\n');
    else process.stdout.write(`${keys.map(row).join('\n')}\n`);
    return;
  }
  if (command === 'revoke') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true });
    const id = apiKeyIdSchema.safeParse(positionals[0]);
    if (!id.success || positionals.length !== 1) throw new UsageError('revoke takes one key id (16 hex characters, see `list`)');
    const revoked = await store.revoke(id.data);
    if (!revoked) throw new Error(`no API key ${id.data}`);
    process.stdout.write(`revoked API key ${revoked.id} "${revoked.name}" (at ${revoked.revoked_at})\n`);
    return;
  }
  throw new UsageError(command === undefined ? 'no command' : `unknown command "${command}"`);
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => parseEnv(keysConfigSchema));
  const url = redisUrlOf(config);
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect().catch((err: Error) => {
      throw new Error(`cannot reach Redis at ${url} (${err.message}); set REDIS_URL`);
    });
    await run(new ApiKeyStore(redis, redisKeys(config.REDIS_PREFIX)), process.argv.slice(2));
  } finally {
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? `${message}\n${USAGE}\n` : `${message}\n`);
  process.exit(err instanceof UsageError ? 64 : 1);
});
