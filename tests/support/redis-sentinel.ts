import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type RedisServerHandle, startRedisServer } from './redis-server';
import { eventually } from './test-redis';

export const SENTINEL_MASTER = 'mymaster';

export interface RedisSentinelHandle {
  /** The master and its replica, in start order (a failover swaps their roles). */
  servers: RedisServerHandle[];
  /** redis:// URL of the Sentinel: the services' REDIS_SENTINELS. */
  sentinelUrl: string;
  /** A connection to the Sentinel itself (SENTINEL commands). */
  sentinel: Redis;
  /** Port of the server the Sentinel names as master now. */
  masterPort(): Promise<number>;
  /** A field of a server's INFO replication (`role`, `master_repl_offset`…). */
  replication(server: RedisServerHandle, field: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

async function replicationField(server: RedisServerHandle, field: string): Promise<string | undefined> {
  const connection = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return new RegExp(`^${field}:(\\S+)`, 'm').exec(await connection.info('replication'))?.[1];
  } finally {
    connection.disconnect();
  }
}

/**
 * A master, one replica and one Sentinel (quorum 1) on loopback, from scratch in a temp directory;
 * resolves once the Sentinel knows the replica, so a failover has somewhere to go.
 */
export async function startRedisSentinel(): Promise<RedisSentinelHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'triage-sentinel-'));
  const servers: RedisServerHandle[] = [];
  let sentinelServer: RedisServerHandle | undefined;
  let sentinel: Redis | undefined;
  const stop = async () => {
    sentinel?.disconnect();
    await sentinelServer?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // In the temp directory: a replica saves the master's snapshot to its working directory.
    const master = await startRedisServer({ args: ['--dir', dir] });
    servers.push(master);
    servers.push(await startRedisServer({ args: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)] }));
    const configFile = join(dir, 'sentinel.conf');
    writeFileSync(
      configFile,
      [`sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`, `sentinel failover-timeout ${SENTINEL_MASTER} 10000`, ''].join('\n'),
    );
    sentinelServer = await startRedisServer({ configFile, args: ['--sentinel'] });
    const connection = new Redis(sentinelServer.url, { maxRetriesPerRequest: null });
    sentinel = connection;
    await eventually('Sentinel knowing a replica', async () => (((await connection.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER)) as unknown[]).length > 0 ? true : undefined));
    return {
      servers,
      sentinelUrl: sentinelServer.url,
      sentinel: connection,
      masterPort: async () => Number(((await connection.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER)) as [string, string])[1]),
      replication: replicationField,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
