import { ConfigError } from './env';
import { loadGatewayConfig } from './gateway.config';
import { loadLauncherConfig } from './launcher.config';
import { loadWorkerConfig } from './worker.config';

describe('service configuration', () => {
  it('applies documented defaults', () => {
    expect(loadGatewayConfig({})).toMatchObject({ PORT: 8000, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: 'triage', LOG_LEVEL: 'info' });
    const worker = loadWorkerConfig({});
    expect(worker.MODEL_DIR.endsWith('models/triage')).toBe(true);
    expect(worker.INTRA_OP_THREADS).toBe(1);
    expect(worker.INFERENCE_MAX_BATCH_TOKENS).toBeUndefined(); // DEFAULT_BATCH_TOKENS, or the model's max_length if longer
    expect(worker.ACTION_AUTO_ROUTE).toBeUndefined();
    expect(loadLauncherConfig({}).WORKERS).toBeGreaterThanOrEqual(1);
  });

  it('has circuit-breaker and /v1 model defaults', () => {
    expect(loadWorkerConfig({})).toMatchObject({ ENCODER_LATENCY_BUDGET_MS: 500, BREAKER_FAILURE_THRESHOLD: 3, BREAKER_COOLDOWN_MS: 30_000 });
    expect(loadGatewayConfig({}).MODEL_DIR).toBe(loadWorkerConfig({}).MODEL_DIR);
    expect(() => loadWorkerConfig({ ENCODER_LATENCY_BUDGET_MS: '0' })).toThrow(/ENCODER_LATENCY_BUDGET_MS/);
  });

  it('coerces numbers from strings', () => {
    expect(loadGatewayConfig({ PORT: '9001' }).PORT).toBe(9001);
    expect(loadWorkerConfig({ ACTION_AUTO_ROUTE: '0.9', ACTION_HUMAN_REVIEW: '0.6' })).toMatchObject({ ACTION_AUTO_ROUTE: 0.9, ACTION_HUMAN_REVIEW: 0.6 });
    expect(loadWorkerConfig({ INFERENCE_MAX_BATCH_TOKENS: '512' }).INFERENCE_MAX_BATCH_TOKENS).toBe(512);
    expect(() => loadWorkerConfig({ INFERENCE_MAX_BATCH_TOKENS: '0' })).toThrow(/INFERENCE_MAX_BATCH_TOKENS/);
  });

  it('takes an optional BOOTSTRAP_API_KEY in the full key format, never echoing a bad one', () => {
    const key = `trk_0123456789abcdef_${'A'.repeat(40)}-_9`;
    expect(loadGatewayConfig({ BOOTSTRAP_API_KEY: key }).BOOTSTRAP_API_KEY).toBe(key);
    expect(loadGatewayConfig({}).BOOTSTRAP_API_KEY).toBeUndefined();
    expect(loadGatewayConfig({ BOOTSTRAP_API_KEY: '' }).BOOTSTRAP_API_KEY).toBeUndefined();
    for (const bad of ['sekrit-admin-password', key.slice(0, -1), key.replace('0123', 'XYZW'), `${key}=`]) {
      expect(() => loadGatewayConfig({ BOOTSTRAP_API_KEY: bad })).toThrow(/BOOTSTRAP_API_KEY: must be a full API key, trk_<16 hex chars>_<43 base64url chars>/);
      expect(() => loadGatewayConfig({ BOOTSTRAP_API_KEY: bad })).not.toThrow(bad);
    }
  });

  it('takes Redis Cluster seed nodes only with a hash-tag prefix', () => {
    const nodes = 'redis://:pw@10.0.0.1:7000, redis://:pw@10.0.0.2:7000';
    for (const load of [loadGatewayConfig, loadWorkerConfig]) {
      expect(load({ REDIS_CLUSTER_NODES: nodes, REDIS_PREFIX: '{triage}' })).toMatchObject({
        REDIS_CLUSTER_NODES: ['redis://:pw@10.0.0.1:7000', 'redis://:pw@10.0.0.2:7000'],
        REDIS_PREFIX: '{triage}',
      });
      expect(() => load({ REDIS_CLUSTER_NODES: nodes })).toThrow(/REDIS_PREFIX: with REDIS_CLUSTER_NODES the prefix must be a hash tag such as \{triage\}/);
      expect(load({ REDIS_CLUSTER_NODES: '' }).REDIS_CLUSTER_NODES).toBeUndefined();
    }
    expect(loadGatewayConfig({ REDIS_PREFIX: '{triage}' }).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(() => loadGatewayConfig({ REDIS_CLUSTER_NODES: 'redis://:a@h1:7000,redis://:b@h2:7000', REDIS_PREFIX: '{t}' })).toThrow(/REDIS_CLUSTER_NODES: every node URL must carry the same/);
    expect(() => loadGatewayConfig({ REDIS_CLUSTER_NODES: 'h1:7000', REDIS_PREFIX: '{t}' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadGatewayConfig({ REDIS_CLUSTER_NODES: ' , ', REDIS_PREFIX: '{t}' })).toThrow(/REDIS_CLUSTER_NODES: must name at least one node/);
  });

  it('takes Sentinels and the master name, or a cluster, not both', () => {
    expect(loadWorkerConfig({ REDIS_SENTINELS: 'redis://s1:26379,redis://s2:26379' })).toMatchObject({
      REDIS_SENTINELS: ['redis://s1:26379', 'redis://s2:26379'],
      REDIS_SENTINEL_MASTER: 'mymaster',
    });
    expect(loadGatewayConfig({ REDIS_SENTINELS: 'redis://s1:26379', REDIS_SENTINEL_MASTER: 'triage-redis' }).REDIS_SENTINEL_MASTER).toBe('triage-redis');
    expect(() => loadGatewayConfig({ REDIS_SENTINELS: 'redis://s1:26379', REDIS_CLUSTER_NODES: 'redis://n1:7000', REDIS_PREFIX: '{t}' })).toThrow(
      /REDIS_SENTINELS: set REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both/,
    );
    expect(() => loadGatewayConfig({ REDIS_SENTINELS: 'redis://s1:26379', REDIS_SENTINEL_MASTER: 'my master' })).toThrow(/REDIS_SENTINEL_MASTER/);
  });

  it('fails with one readable line per bad variable', () => {
    let error: unknown;
    try {
      loadGatewayConfig({ PORT: 'eighty', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid configuration:/);
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).toMatch(/LOG_LEVEL: /);
  });

  it.each([
    [{ REDIS_PREFIX: 'has:colon' }, /REDIS_PREFIX/],
    [{ REDIS_PREFIX: '{half' }, /REDIS_PREFIX/],
    [{ REDIS_PREFIX: '{a}b' }, /REDIS_PREFIX/],
    [{ REDIS_PREFIX: '{}' }, /REDIS_PREFIX/],
    [{ WORKERS: '0' }, /WORKERS/],
  ])('rejects %j', (env, pattern) => {
    expect(() => loadLauncherConfig(env)).toThrow(pattern);
  });

  it('rejects inconsistent worker settings', () => {
    expect(() => loadWorkerConfig({ ACTION_AUTO_ROUTE: '0.6', ACTION_HUMAN_REVIEW: '0.8' })).toThrow(/ACTION_HUMAN_REVIEW/);
    expect(() => loadWorkerConfig({ HEARTBEAT_INTERVAL_MS: '20000', HEARTBEAT_TTL_MS: '10000' })).toThrow(/HEARTBEAT_INTERVAL_MS/);
  });
});
