import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ApiKeyStore, type RedisTarget, SCOPES, connectRedis, parseEnv, redisKeys, redisTopologyEnv, redisUrl as redisUrlSchema } from '@triage/shared';
import { type AppendFsync, type RedisServerHandle, startRedisServer } from './embedded-redis';

export const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Each service's node arguments, relative to the repository root; the image, compose and k8s start
 * the services with the same (tests/deploy.test.ts). Under load V8 grows each semi-space of the young
 * generation to 16 MB and keeps the pages. The gateway's are capped at 4 MB: ~50 MB less RSS after a
 * burst of POSTs for the same CPU per accept (2 MB costs ~20 % more). A worker's, whose allocation rate
 * is low, at 1 MB: ~45 MB less (two isolates: main and inference thread) for 3-5 % more CPU per ticket.
 * Both cap the old space at 256 MB, ten times what either holds live: V8 lets a heap whose cap is 2 GB
 * or more (the default on this machine) grow to several times its live size between full collections,
 * and a smaller cap lowers that factor. Garbage that outlived two scavenges (jobs under backlog,
 * requests in a burst) had taken a worker's heap from ~30 to ~50 MB and the gateway to 165 MB RSS right
 * after a burst (docs/performance.md).
 */
export const SERVICE_NODE_ARGS = {
  gateway: ['--max-semi-space-size=4', '--max-old-space-size=256', 'services/gateway/dist/main.js'],
  worker: ['--max-semi-space-size=1', '--max-old-space-size=256', 'services/worker/dist/main.js'],
} as const;

/**
 * Process environment beside each service's config; the image's compose and k8s set the same
 * (tests/deploy.test.ts). glibc raises its mmap threshold whenever a large mmapped block is freed, so
 * once onnxruntime has loaded the model its large buffers come from the heap and are never given
 * back; a fixed threshold (glibc's initial 128 KiB) keeps them mmapped: a worker holds
 * ~20 MB less after 300 tickets, at the same CPU per ticket (docs/performance.md).
 */
export const SERVICE_ENV = {
  gateway: {},
  worker: { MALLOC_MMAP_THRESHOLD_: '131072' },
} as const satisfies Record<keyof typeof SERVICE_NODE_ARGS, NodeJS.ProcessEnv>;

export interface StackOptions {
  /**
   * Existing Redis; when absent an embedded redis-server is started. `env` may point the services
   * at a cluster or Sentinels instead (REDIS_CLUSTER_NODES, REDIS_SENTINELS).
   */
  redisUrl?: string | undefined;
  /** Where the embedded Redis keeps its append-only file; absent → no persistence. */
  redisDataDir?: string;
  redisAppendFsync?: AppendFsync;
  redisBin?: string;
  port: number;
  workers: number;
  /** Worker i serves /metrics, /health, /ready on this port + i; 0 (default) picks free ports. */
  workerMetricsPort?: number;
  /** Extra environment for the gateway and worker processes (prefix, log level, model dir…). */
  env: NodeJS.ProcessEnv;
  /** Inherit stdio (launcher) or drop it (tests, benchmark). */
  quiet?: boolean;
  /**
   * Unless env.AUTH is 'off', mint an API key with every scope under this name once the stack is
   * up (earlier active keys of that name are revoked, so only the newest printed key works).
   */
  keyName?: string;
}

export interface Stack {
  url: string;
  redisUrl: string;
  gateway: ChildProcess;
  workers: ChildProcess[];
  /** The minted API key (see StackOptions.keyName); undefined with AUTH=off or no keyName. */
  apiKey: string | undefined;
  /** Resolves with the first unexpected child exit. */
  crashed: Promise<string>;
  /** SIGTERM to gateway and workers, wait for them, then stop the embedded Redis. */
  stop(): Promise<void>;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

async function waitForHealth(url: string, crashed: Promise<string>): Promise<void> {
  let down = true;
  void crashed.then(() => (down = false));
  while (down) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(await crashed);
}

/** Starts Redis (if needed), the gateway and N worker processes, and waits for the gateway. */
export async function startStack(options: StackOptions): Promise<Stack> {
  let redis: RedisServerHandle | undefined;
  const redisUrl =
    options.redisUrl ??
    (redis = await startRedisServer({
      ...(options.redisDataDir ? { dataDir: options.redisDataDir } : {}),
      ...(options.redisAppendFsync ? { appendfsync: options.redisAppendFsync } : {}),
      ...(options.redisBin ? { bin: options.redisBin } : {}),
    })).url;

  const env = { ...process.env, ...options.env, REDIS_URL: redisUrl, PORT: String(options.port) };
  const stdio = options.quiet ? 'ignore' : 'inherit';
  const launch = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) => spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...env, ...extra }, stdio });
  const gateway = launch(SERVICE_NODE_ARGS.gateway, SERVICE_ENV.gateway);
  const metricsPort = options.workerMetricsPort ?? 0;
  const workers = Array.from({ length: options.workers }, (_, i) => launch(SERVICE_NODE_ARGS.worker, { ...SERVICE_ENV.worker, WORKER_METRICS_PORT: String(metricsPort === 0 ? 0 : metricsPort + i) }));

  let stopping = false;
  const children = [gateway, ...workers];
  const crashed = new Promise<string>((resolveCrash) => {
    for (const [i, child] of children.entries()) {
      const name = i === 0 ? 'gateway' : `worker ${i}`;
      void exitOf(child).then((code) => {
        if (!stopping) resolveCrash(`${name} exited unexpectedly (code ${code})`);
      });
    }
    if (redis) void exitOf(redis.process).then((code) => !stopping && resolveCrash(`redis-server exited unexpectedly (code ${code})`));
  });

  const stop = async () => {
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map(exitOf));
    await redis?.stop();
  };

  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitForHealth(url, crashed);
  } catch (err) {
    await stop();
    throw err;
  }
  let apiKey: string | undefined;
  if (options.keyName !== undefined && options.env.AUTH !== 'off') {
    try {
      // The services' own view of where Redis is.
      const target = parseEnv(z.object({ REDIS_URL: redisUrlSchema, ...redisTopologyEnv }), env);
      apiKey = await mintApiKey(target, options.env.REDIS_PREFIX ?? 'triage', options.keyName);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return { url, redisUrl, apiKey, gateway, workers, crashed, stop };
}

/** Where `npm start` notes its embedded Redis's URL for `npm run keys`. */
export const runningRedisUrlFile = (dataDir: string) => join(dataDir, 'redis.url');

async function mintApiKey(target: RedisTarget, prefix: string, name: string): Promise<string> {
  const redis = connectRedis(target, { kind: 'cli' });
  try {
    const store = new ApiKeyStore(redis, redisKeys(prefix));
    for (const key of await store.list()) if (key.name === name && key.revoked_at === null) await store.revoke(key.id);
    return (await store.create(name, SCOPES)).key;
  } finally {
    redis.disconnect();
  }
}
