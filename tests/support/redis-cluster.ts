import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type RedisServerHandle, freePort, startRedisServer } from './redis-server';
import { eventually } from './test-redis';

export interface RedisClusterHandle {
  /** redis:// URLs of the masters, password included: the services' REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** One standalone connection per master, for what a cluster client hides (which node holds what). */
  masters: Redis[];
  stop(): Promise<void>;
}

/** Every node reports the whole cluster: all slots served and every master known. */
async function clusterReady(masters: Redis[]): Promise<true | undefined> {
  const infos = await Promise.all(masters.map((m) => m.call('CLUSTER', 'INFO') as Promise<string>));
  const ok = infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters.length}`));
  return ok || undefined;
}

/**
 * A real Redis Cluster of `size` masters without replicas on loopback, from scratch in a temp
 * directory: redis-server --cluster-enabled on free ports, then `redis-cli --cluster create`.
 * Each node's cluster bus gets its own free port (the default, port + 10000, may be taken or
 * beyond 65535). Every node requires `password`, as a production cluster would.
 */
export async function startRedisCluster(size: number, password: string): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'triage-cluster-'));
  const servers: RedisServerHandle[] = [];
  const masters: Redis[] = [];
  const stop = async () => {
    for (const m of masters) m.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i += 1) {
      const args = ['--cluster-enabled', 'yes', '--cluster-port', String(await freePort()), '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--dir', dir];
      servers.push(await startRedisServer({ args, password }));
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await promisify(execFile)('redis-cli', ['-a', password, '--no-auth-warning', '--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    for (const s of servers) masters.push(new Redis(s.url, { maxRetriesPerRequest: null }));
    await eventually('every master reporting cluster_state:ok and all nodes known', () => clusterReady(masters));
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: servers.map((s) => s.url), masters, stop };
}
