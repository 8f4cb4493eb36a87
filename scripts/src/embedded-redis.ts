import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  port?: number;
  /** With a directory the server keeps an append-only file there; without, nothing is persisted. */
  dataDir?: string;
  /**
   * With a data directory: when the append-only file is fsynced. `everysec` (default) can lose
   * about the last second of writes if the machine dies (a process kill loses nothing);
   * `always` loses nothing but fsyncs on every write (see docs/reliability.md for the cost).
   */
  appendfsync?: AppendFsync;
  bin?: string;
  /** More redis-server options, e.g. a cluster node's (tests/support/redis-cluster.ts). */
  args?: string[];
  /** A configuration file, read before the options (a Sentinel needs one it can rewrite). */
  configFile?: string;
  /** `requirepass`; the handle's URL carries it. */
  password?: string;
}

export const APPENDFSYNC_MODES = ['always', 'everysec', 'no'] as const;
export type AppendFsync = (typeof APPENDFSYNC_MODES)[number];

export const REDIS_INSTALL_HINT = [
  'redis-server was not found. Install it, or point REDIS_URL at an existing Redis:',
  '  Debian/Ubuntu: sudo apt-get install redis-server',
  '  macOS:         brew install redis',
  '  Docker:        docker run -p 6379:6379 redis:7 && REDIS_URL=redis://127.0.0.1:6379 npm start',
].join('\n');

export function redisServerAvailable(bin = 'redis-server'): boolean {
  return !spawnSync(bin, ['--version'], { stdio: 'ignore' }).error;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** Starts redis-server on a loopback port and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const persistence = options.dataDir
    ? ['--dir', options.dataDir, '--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'everysec', '--save', '']
    : ['--appendonly', 'no', '--save', ''];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // Own process group: a terminal Ctrl-C must not stop Redis before the services have drained.
  const child = spawn(options.bin ?? 'redis-server', [...(options.configFile ? [options.configFile] : []), '--port', String(port), '--bind', '127.0.0.1', ...persistence, ...(options.password ? ['--requirepass', options.password] : []), ...(options.args ?? [])], {
    stdio: 'ignore',
    detached: true,
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}\n${REDIS_INSTALL_HINT}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited during start-up (code ${code}); is port ${port} free?`)));
  });
  failed.catch(() => undefined);
  const url = `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`;
  await Promise.race([waitForPing(url), failed]);
  return {
    url,
    port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function waitForPing(url: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`redis at ${url} did not answer PING`);
}
