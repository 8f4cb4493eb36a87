/**
 * `npm run keys -- create --name alice --scope agent [--scope admin]` (the key is the last line),
 * `npm run keys -- list [--json]`, `npm run keys -- revoke <id>`.
 * Talks to Redis directly: REDIS_URL, else the Redis of a running `npm start`, else localhost.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ApiKeyStore, type ApiKeyInfo, apiKeyIdSchema, apiKeyNameSchema, redisKeys, scopeSchema } from '@triage/shared';
import { UsageError, runCli, withCliRedis } from './cli-redis';

const USAGE = `usage:
  npm run keys -- create --name <name> --scope <client|agent|admin> [--scope …]
  npm run keys -- list [--json]
  npm run keys -- revoke <id>`;

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

runCli(() => withCliRedis((redis, config) => run(new ApiKeyStore(redis, redisKeys(config.REDIS_PREFIX)), process.argv.slice(2))), USAGE);
