import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A standalone Redis or a Redis Cluster: every store, queue and route takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a cluster (REDIS_CLUSTER_NODES), a Sentinel-watched master (REDIS_SENTINELS), else REDIS_URL. */
export interface RedisTarget {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string[] | undefined;
  REDIS_SENTINELS?: string[] | undefined;
  REDIS_SENTINEL_MASTER?: string | undefined;
}

/**
 * How a connection behaves while Redis is away (BullMQ's production guide):
 * - `producer` fails fast — no offline queue, one retry, a per-command timeout — so an HTTP
 *   request gets a 503 instead of hanging on a dead Redis (not auto-pipelined: ioredis builds each
 *   pipeline by copying every script defined on the connection, which costs the gateway more CPU
 *   than the batching saves Redis; docs/performance.md);
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

/**
 * After a failover the old master turns replica and refuses writes with READONLY until the client
 * has moved to the new master: reconnect (asking the Sentinels again) and resend the refused
 * command, which did not run.
 */
const reconnectOnError = (err: Error): 2 | false => (err.message.startsWith('READONLY') ? 2 : false);

function behaviourOf(role: ConnectionRole): Behaviour {
  const behaviour = roleBehaviour(role);
  return { ...behaviour, node: { ...behaviour.node, reconnectOnError } };
}

function roleBehaviour(role: ConnectionRole): Behaviour {
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

const hostsOf = (urls: URL[], defaultPort: number) => urls.map(({ hostname, port }) => ({ host: hostname, port: Number(port || defaultPort) }));

/** The user, password and TLS of a redis:// or rediss:// URL, as ioredis options. */
function credentialsOf({ protocol, username, password }: URL): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * The one place a service connects to Redis. On a cluster, the nodes the client discovers get
 * the seed URLs' credentials and TLS (redisEnv checks they agree), and keys must share one slot:
 * REDIS_PREFIX is then a hash tag (checkRedisTopology). With Sentinels, the client asks them for
 * the master and, told of a failover, reconnects to the new one.
 */
export function connectRedis(target: RedisTarget, role: ConnectionRole): RedisClient {
  const { node, offlineQueue, lazyConnect, retry } = behaviourOf(role);
  if (target.REDIS_CLUSTER_NODES !== undefined) {
    const seeds = target.REDIS_CLUSTER_NODES.map((url) => new URL(url));
    return new Cluster(hostsOf(seeds, 6379), {
      enableOfflineQueue: offlineQueue,
      lazyConnect,
      ...(retry ? { clusterRetryStrategy: retry } : {}),
      redisOptions: { ...node, ...credentialsOf(seeds[0]!) },
    });
  }
  const common = { ...node, enableOfflineQueue: offlineQueue, lazyConnect, ...(retry ? { retryStrategy: retry } : {}) };
  if (target.REDIS_SENTINELS === undefined) return new Redis(target.REDIS_URL, common);
  const sentinels = target.REDIS_SENTINELS.map((url) => new URL(url));
  const sentinel = credentialsOf(sentinels[0]!);
  const master = new URL(target.REDIS_URL);
  return new Redis({
    ...common,
    ...credentialsOf(master),
    db: Number(master.pathname.slice(1) || 0),
    sentinels: hostsOf(sentinels, 26379),
    name: target.REDIS_SENTINEL_MASTER ?? 'mymaster',
    ...(sentinel.username ? { sentinelUsername: sentinel.username } : {}),
    ...(sentinel.password ? { sentinelPassword: sentinel.password } : {}),
    ...(sentinel.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    ...(retry ? { sentinelRetryStrategy: retry } : {}),
    // Subscribes to the Sentinels' +switch-master, so a failover moves the connection at once.
    failoverDetector: true,
  });
}

/** Where a connection goes, for logs and error messages (never with credentials). */
export function describeRedisTarget(target: RedisTarget): string {
  const hosts = (urls: string[]) => urls.map((url) => new URL(url).host).join(', ');
  if (target.REDIS_CLUSTER_NODES) return `Redis Cluster via ${hosts(target.REDIS_CLUSTER_NODES)}`;
  if (target.REDIS_SENTINELS) return `Redis master ${target.REDIS_SENTINEL_MASTER ?? 'mymaster'} via Sentinels ${hosts(target.REDIS_SENTINELS)}`;
  return `Redis at ${hosts([target.REDIS_URL])}`;
}
