/** `npm start`: Redis (embedded unless REDIS_URL is set), the gateway and WORKERS workers. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage, loadConfigOrExit, loadLauncherConfig } from '@triage/shared';
import { REDIS_INSTALL_HINT, redisServerAvailable } from './embedded-redis';
import { REPO_ROOT, runningRedisUrlFile, startStack } from './stack';

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadLauncherConfig());
  if (!config.REDIS_URL && !redisServerAvailable(config.REDIS_SERVER_BIN)) {
    process.stderr.write(`${REDIS_INSTALL_HINT}\n`);
    process.exit(1);
  }
  const stack = await startStack({
    redisUrl: config.REDIS_URL,
    redisDataDir: resolve(REPO_ROOT, config.DATA_DIR, 'redis'),
    redisAppendFsync: config.REDIS_APPENDFSYNC,
    redisBin: config.REDIS_SERVER_BIN,
    port: config.PORT,
    workers: config.WORKERS,
    workerMetricsPort: config.WORKER_METRICS_PORT,
    env: { REDIS_PREFIX: config.REDIS_PREFIX, LOG_LEVEL: config.LOG_LEVEL, AUTH: config.AUTH },
    keyName: 'npm start (local admin)',
  });
  // `npm run keys` finds the embedded Redis through this file.
  const dataDir = resolve(REPO_ROOT, config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(runningRedisUrlFile(dataDir), `${stack.redisUrl}\n`);

  const where = config.REDIS_URL ? 'external Redis' : `embedded redis-server at ${stack.redisUrl}, data in ${config.DATA_DIR}/redis`;
  const auth = stack.apiKey ? ` -H 'Authorization: Bearer ${stack.apiKey}'` : '';
  process.stdout.write(
    `\nTriage is running at http://localhost:${config.PORT}  (${config.WORKERS} worker process(es), ${where})\n` +
      (stack.apiKey
        ? `API key with every scope (client, agent, admin), valid until the next \`npm start\`; more with \`npm run keys -- create\`:\n  ${stack.apiKey}\n`
        : 'AUTH=off: the API is open to anyone who can reach this port.\n') +
      `API docs: http://localhost:${config.PORT}/docs\n` +
      `Try:  curl -s -X POST http://localhost:${config.PORT}/v2/tickets -H 'Content-Type: application/json'${auth} -d '{"subject":"Refund","body":"I was charged twice"}'\n` +
      `Worker metrics: http://localhost:${config.WORKER_METRICS_PORT}/metrics (worker i: port + i)\n` +
      'Press Ctrl-C to stop.\n\n',
  );

  let stopping = false;
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${reason}: stopping gateway, workers and Redis…\n`);
    await stack.stop();
    rmSync(runningRedisUrlFile(dataDir), { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('Ctrl-C', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  void stack.crashed.then((why) => stop(why, 1));
}

main().catch((err: unknown) => {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exit(1);
});
