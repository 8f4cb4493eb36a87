import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A standalone Redis or a Redis Cluster: every store, queue and route takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: REDIS_CLUSTER_NODES when set, else REDIS_URL (see redisEnv). */
export interface RedisTarget {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string[] | undefined;
}

/**
 * How a connection behaves while Redis is away (BullMQ's production guide):
 * - `producer` fails fast — no offline queue, one retry, a per-command timeout — so an HTTP
 *   request gets a 503 instead of hanging on a dead Redis;
 * - `worker` waits outages out (`maxRetriesPerRequest: null`), which BullMQ's blocking
 *   commands, QueueEvents and pub/sub subscribers need;
 * - `cli` tries once and never reconnects, and connects on `connect()` so a CLI can say
 *   which Redis it could not reach.
 */
export type ConnectionRole = { kind: 'producer'; commandTimeoutMs: number } | { kind: 'worker' } | { kind: 'cli' };

interface Behaviour {
  /** Options of each node's connection (every node's, on a cluster). */
  node: RedisOptions;
  offlineQueue: boolean;
  lazyConnect: boolean;
  retry?: (times: number) => number | null;
}

function behaviourOf(role: ConnectionRole): Behaviour {
  switch (role.kind) {
    case 'producer':
      return {
        node: { maxRetriesPerRequest: 1, commandTimeout: role.commandTimeoutMs, connectTimeout: 5_000 },
        offlineQueue: false,
        lazyConnect: false,
        retry: (times) => Math.min(200 * times, 2_000),
      };
    case 'worker':
      return { node: { maxRetriesPerRequest: null }, offlineQueue: true, lazyConnect: false };
    case 'cli':
      return { node: { maxRetriesPerRequest: 1 }, offlineQueue: true, lazyConnect: true, retry: () => null };
  }
}

/**
 * The one place a service connects to Redis. On a cluster, the nodes the client discovers get
 * the seed URLs' credentials and TLS (redisEnv checks they agree), and keys must share one slot:
 * REDIS_PREFIX is then a hash tag (clusterPrefixRule).
 */
export function connectRedis(target: RedisTarget, role: ConnectionRole): RedisClient {
  const { node, offlineQueue, lazyConnect, retry } = behaviourOf(role);
  const nodes = target.REDIS_CLUSTER_NODES;
  if (nodes === undefined) {
    return new Redis(target.REDIS_URL, { ...node, enableOfflineQueue: offlineQueue, lazyConnect, ...(retry ? { retryStrategy: retry } : {}) });
  }
  const seeds = nodes.map((url) => new URL(url));
  const { protocol, username, password } = seeds[0]!;
  return new Cluster(
    seeds.map(({ hostname, port }) => ({ host: hostname, port: Number(port || 6379) })),
    {
      enableOfflineQueue: offlineQueue,
      lazyConnect,
      ...(retry ? { clusterRetryStrategy: retry } : {}),
      redisOptions: {
        ...node,
        ...(username ? { username: decodeURIComponent(username) } : {}),
        ...(password ? { password: decodeURIComponent(password) } : {}),
        ...(protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}

/** Where a connection goes, for logs and error messages (never with credentials). */
export function describeRedisTarget(target: RedisTarget): string {
  const hosts = (target.REDIS_CLUSTER_NODES ?? [target.REDIS_URL]).map((url) => new URL(url).host);
  return target.REDIS_CLUSTER_NODES ? `Redis Cluster via ${hosts.join(', ')}` : `Redis at ${hosts[0]}`;
}
