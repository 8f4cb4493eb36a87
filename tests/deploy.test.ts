import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { JobName, gatewayConfigSchema, triageJobData, triageJobOptions, workerConfigSchema } from '@triage/shared';
import { createTicketsQueue } from '../services/gateway/src/connections';
import { SERVICE_ENV, SERVICE_NODE_ARGS } from '../scripts/src/stack';
import { plainRedis, uniquePrefix } from './support/test-redis';

const ROOT = join(__dirname, '..');
// Manifests are free-form YAML; the assertions below are the schema.
type Doc = Record<string, any>;

const manifests: Doc[] = readdirSync(join(ROOT, 'k8s'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(ROOT, 'k8s', f), 'utf8')).map((d) => d.toJS() as Doc));
const byName = (kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`k8s has no ${kind} ${name}`);
  return found;
};
const configMap = byName('ConfigMap', 'triage-config').data as Record<string, string>;
const container = (deployment: Doc) => deployment.spec.template.spec.containers[0] as Doc;
/** The schema each Deployment's env must satisfy, by the service its command starts. */
const SERVICES = [
  { deployment: 'triage-gateway', compose: 'gateway', schema: gatewayConfigSchema },
  { deployment: 'triage-worker', compose: 'worker', schema: workerConfigSchema },
] as const;

const secret = byName('Secret', 'triage-secrets').stringData as Record<string, string>;
const BOOTSTRAP_KEY = `trk_0123456789abcdef_${'x'.repeat(43)}`;

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` interpolation from the given shell environment (or .env). */
const interpolateValue = (value: unknown, shell: Record<string, string>) =>
  String(value).replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    if (shell[name]) return shell[name];
    if (op === '?') throw new Error(`compose refuses to start: ${name}: ${arg}`);
    return op === '-' ? arg! : '';
  });
const interpolate = (env: Record<string, unknown>, shell: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolateValue(v, shell)]));

/** The env a container would see: ConfigMap first, then its own values (Secret keys resolved, optional
 * ones absent, `$(VAR)` expanded from variables defined before it, as the kubelet does). */
function containerEnv(c: Doc): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) if (from.configMapRef?.name === 'triage-config') Object.assign(env, configMap);
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      expect(ref.name).toBe('triage-secrets');
      if (secret[ref.key] !== undefined) env[e.name] = secret[ref.key]!;
      else expect(ref.optional).toBe(true);
    } else if (e.valueFrom) env[e.name] = 'from-field';
    else env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_m, v: string) => env[v] ?? `$(${v})`);
  }
  return env;
}

describe('k8s manifests', () => {
  it('are well-formed objects with apiVersion, kind and name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const m of manifests) expect(m).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.any(String) } });
  });

  it('select their own pods', () => {
    for (const m of manifests.filter((x) => ['Deployment', 'StatefulSet'].includes(x.kind))) {
      expect(m.spec.template.metadata.labels).toMatchObject(m.spec.selector.matchLabels);
    }
    for (const s of manifests.filter((x) => x.kind === 'Service')) {
      const target = manifests.find((m) => m.kind !== 'Service' && m.spec?.template?.metadata?.labels?.['app.kubernetes.io/name'] === s.spec.selector['app.kubernetes.io/name']);
      expect(target).toBeDefined();
    }
  });

  it('run the gateway with an env the gateway config accepts, on the probed port', () => {
    const c = container(byName('Deployment', 'triage-gateway'));
    expect(c.image).toMatch(/^triage:\d+\.\d+\.\d+$/);
    expect(c.command).toEqual(['node', ...SERVICE_NODE_ARGS.gateway]);
    const config = gatewayConfigSchema.parse(containerEnv(c));
    expect(c.ports).toEqual([{ name: 'http', containerPort: config.PORT }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    const grace = byName('Deployment', 'triage-gateway').spec.template.spec.terminationGracePeriodSeconds as number;
    expect(grace * 1000).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
  });

  it('run workers with a valid env and enough grace to finish in-flight tickets', () => {
    const deployment = byName('Deployment', 'triage-worker');
    const c = container(deployment);
    expect(c.image).toBe(container(byName('Deployment', 'triage-gateway')).image);
    expect(c.command).toEqual(['node', ...SERVICE_NODE_ARGS.worker]);
    const config = workerConfigSchema.parse({ ...containerEnv(c), WORKER_ID: 'pod-1' });
    expect(config.MODEL_DIR).toBe('/app/models/triage');
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
  });

  it("let Prometheus scrape the worker's metrics port", () => {
    const deployment = byName('Deployment', 'triage-worker');
    const c = container(deployment);
    const config = workerConfigSchema.parse({ ...containerEnv(c), WORKER_ID: 'pod-1' });
    const annotations = deployment.spec.template.metadata.annotations as Record<string, string>;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(config.WORKER_METRICS_PORT);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(c.ports).toContainEqual(expect.objectContaining({ containerPort: config.WORKER_METRICS_PORT }));
  });

  it('run as a numeric non-root user, the same the image declares, without privilege escalation', () => {
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(user).not.toBeNull();
    for (const name of ['triage-gateway', 'triage-worker']) {
      const pod = byName('Deployment', name).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user![1]) });
      expect(container(byName('Deployment', name)).securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    }
  });

  it('probe workers on their metrics port: liveness on /health, readiness on /ready', () => {
    const c = container(byName('Deployment', 'triage-worker'));
    const config = workerConfigSchema.parse({ ...containerEnv(c), WORKER_ID: 'pod-1' });
    const port = (c.ports as Doc[]).find((p) => p.containerPort === config.WORKER_METRICS_PORT);
    expect(port?.name).toEqual(expect.any(String));
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: port!.name });
    expect(c.startupProbe.httpGet).toEqual({ path: '/health', port: port!.name });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: port!.name });
  });

  it('keep secrets in the Secret, never in the ConfigMap', () => {
    for (const key of Object.keys(configMap)) expect(key).not.toMatch(/PASSWORD|SECRET|WEBHOOK|TOKEN|KEY/);
    const worker = container(byName('Deployment', 'triage-worker'));
    const fromSecret = (worker.env as Doc[]).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name as string);
    expect(fromSecret).toEqual(expect.arrayContaining(['REDIS_PASSWORD', 'SLACK_WEBHOOK_URL', 'DISCORD_WEBHOOK_URL', 'WEBHOOK_URL', 'WEBHOOK_SECRET']));
  });

  it('give the gateway BOOTSTRAP_API_KEY from the Secret: optional, empty (none) until replaced', () => {
    const gateway = container(byName('Deployment', 'triage-gateway'));
    expect(gateway.env).toContainEqual({
      name: 'BOOTSTRAP_API_KEY',
      valueFrom: { secretKeyRef: { name: 'triage-secrets', key: 'BOOTSTRAP_API_KEY', optional: true } },
    });
    expect(container(byName('Deployment', 'triage-worker')).env).not.toContainEqual(expect.objectContaining({ name: 'BOOTSTRAP_API_KEY' }));
    expect(secret.BOOTSTRAP_API_KEY).toBe('');
    expect(gatewayConfigSchema.parse(containerEnv(gateway)).BOOTSTRAP_API_KEY).toBeUndefined();
    const placeholder = secret.BOOTSTRAP_API_KEY;
    try {
      secret.BOOTSTRAP_API_KEY = BOOTSTRAP_KEY;
      expect(gatewayConfigSchema.parse(containerEnv(gateway)).BOOTSTRAP_API_KEY).toBe(BOOTSTRAP_KEY);
    } finally {
      secret.BOOTSTRAP_API_KEY = placeholder!;
    }
  });

  it("let only the gateway, the workers and KEDA's operator reach Redis", () => {
    const policy = byName('NetworkPolicy', 'triage-redis');
    expect(policy.spec.podSelector.matchLabels).toEqual(byName('StatefulSet', 'triage-redis').spec.selector.matchLabels);
    expect(policy.spec.policyTypes).toContain('Ingress');
    const peers = (policy.spec.ingress as Doc[]).flatMap((rule) => rule.from as Doc[]);
    const sameNamespace = peers.filter((f) => !f.namespaceSelector).map((f) => f.podSelector.matchLabels['app.kubernetes.io/name'] as string);
    expect(sameNamespace.sort()).toEqual(['triage-gateway', 'triage-worker']);
    // namespaceSelector and podSelector in one peer: only KEDA's operator pods, not its whole namespace.
    expect(peers.filter((f) => f.namespaceSelector)).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keda-operator' } } },
    ]);
  });

  it('keep a worker through voluntary disruptions', () => {
    const pdb = byName('PodDisruptionBudget', 'triage-worker');
    expect(pdb.spec.selector.matchLabels).toEqual(byName('Deployment', 'triage-worker').spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(byName('ScaledObject', 'triage-worker').spec.minReplicaCount);
  });

  it('scale the gateway on CPU with an HPA, which owns its replica count', () => {
    const hpa = byName('HorizontalPodAutoscaler', 'triage-gateway');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    const gateway = byName('Deployment', 'triage-gateway');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: gateway.apiVersion, kind: 'Deployment', name: gateway.metadata.name });
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } }]);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    // Utilisation is a share of the request: without one the HPA cannot compute it.
    expect(container(gateway).resources.requests.cpu).toBeDefined();
    expect(gateway.spec.replicas).toBeUndefined();
  });

  describe("KEDA ScaledObject on the triage queue's waiting list", () => {
    const scaled = byName('ScaledObject', 'triage-worker');
    const trigger = () => {
      expect(scaled.spec.triggers).toHaveLength(1);
      return scaled.spec.triggers[0] as Doc;
    };
    const workerConfig = () => workerConfigSchema.parse({ ...containerEnv(container(byName('Deployment', 'triage-worker'))), WORKER_ID: 'pod-1' });

    it('scales the worker Deployment, which leaves the replica count to it', () => {
      const worker = byName('Deployment', 'triage-worker');
      expect(scaled.apiVersion).toBe('keda.sh/v1alpha1');
      expect(scaled.spec.scaleTargetRef).toEqual({ name: worker.metadata.name });
      expect(worker.spec.replicas).toBeUndefined();
      expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(0);
      expect(scaled.spec.maxReplicaCount).toBeGreaterThan(scaled.spec.minReplicaCount);
    });

    it("watches the key BullMQ's producer waits tickets in, under the ConfigMap's prefix", async () => {
      const redis = plainRedis();
      const queue = createTicketsQueue(redis, workerConfig());
      try {
        expect(trigger()).toMatchObject({ type: 'redis', metadata: { listName: queue.toKey('wait'), listLength: expect.stringMatching(/^[1-9]\d*$/) } });
      } finally {
        await queue.close();
        redis.disconnect();
      }
    });

    it('counts a freshly accepted ticket in that list (not in a delayed or prioritised set)', async () => {
      const redis = plainRedis();
      const config = { ...workerConfig(), REDIS_PREFIX: uniquePrefix('keda') };
      const queue = createTicketsQueue(redis, config);
      try {
        const data = triageJobData({ ticket_id: 'tkt_keda', subject: null, body: 'printer on fire', accepted_at: new Date().toISOString() });
        await queue.add(JobName.Triage, data, { ...triageJobOptions(config), jobId: data.ticket_id });
        expect(await redis.llen(queue.toKey('wait'))).toBe(1);
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
        redis.disconnect();
      }
    });

    it("reaches the Redis Service by its cluster DNS name (KEDA's operator runs in its own namespace)", () => {
      const [host, port] = String(trigger().metadata.address).split(':');
      const [service, , svc] = host!.split('.');
      expect(svc).toBe('svc');
      expect(byName('Service', service!).spec.ports[0].port).toBe(Number(port));
    });

    it('authenticates with the Redis password from the Secret', () => {
      const auth = byName('TriggerAuthentication', trigger().authenticationRef.name);
      expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'triage-secrets', key: 'REDIS_PASSWORD' }]);
      expect(decodeURIComponent(new URL(workerConfig().REDIS_URL).password)).toBe(secret.REDIS_PASSWORD);
    });
  });

  describe('resources, sized from the last `npm run bench`', () => {
    const benchDir = join(ROOT, 'bench', 'results');
    const latest = readdirSync(benchDir).filter((f) => /^\d{4}-.*\.json$/.test(f)).sort().at(-1);
    const bench = JSON.parse(readFileSync(join(benchDir, latest!), 'utf8')) as { memory: { gateway_mb: { peak: number }; workers_mb: { peak: number }[] } };
    const mebibytes = (quantity: string) => {
      const [, n, unit] = /^(\d+)(Mi|Gi)$/.exec(quantity) ?? [];
      if (!n) throw new Error(`unexpected memory quantity ${quantity}`);
      return Number(n) * (unit === 'Gi' ? 1024 : 1);
    };
    const memory = (name: string) => {
      const { requests, limits } = container(byName('Deployment', name)).resources as Doc;
      return { request: mebibytes(requests.memory), limit: mebibytes(limits.memory) };
    };

    it("request the gateway's measured peak RSS and limit it with room above", () => {
      const { request, limit } = memory('triage-gateway');
      expect(request).toBeGreaterThanOrEqual(bench.memory.gateway_mb.peak);
      expect(limit).toBeGreaterThanOrEqual(1.5 * bench.memory.gateway_mb.peak);
    });

    it("request a worker's measured peak RSS and allow two models during a promotion", () => {
      const peak = Math.max(...bench.memory.workers_mb.map((w) => w.peak));
      const { request, limit } = memory('triage-worker');
      expect(request).toBeGreaterThanOrEqual(peak);
      expect(limit).toBeGreaterThanOrEqual(2 * peak);
    });
  });

  it('point REDIS_URL at the Redis service, which persists with AOF', () => {
    for (const name of ['triage-gateway', 'triage-worker']) {
      const url = new URL(containerEnv(container(byName('Deployment', name))).REDIS_URL!);
      const service = byName('Service', url.hostname);
      expect(service.spec.ports[0].port).toBe(Number(url.port));
      expect(decodeURIComponent(url.password)).toBe(secret.REDIS_PASSWORD);
    }
    const redis = container(byName('StatefulSet', 'triage-redis'));
    expect(redis.args).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--appendfsync', '$(REDIS_APPENDFSYNC)']));
    expect(redis.args).toEqual(expect.arrayContaining(['--requirepass', '$(REDIS_PASSWORD)']));
    expect(containerEnv(redis).REDIS_PASSWORD).toBe(secret.REDIS_PASSWORD);
    // Kubernetes expands $(VAR) in args only for variables the container defines.
    expect(redis.env).toContainEqual({ name: 'REDIS_APPENDFSYNC', value: expect.stringMatching(/^(always|everysec|no)$/) });
    expect(redis.readinessProbe).toBeDefined();
  });
});

describe('env names', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Doc;
  // The config schema's names, and the process environment the service runs with (glibc's, not ours).
  const known = ({ compose: service, schema }: (typeof SERVICES)[number]) => new Set([...Object.keys(schema.shape), ...Object.keys(SERVICE_ENV[service])]);

  // A misspelt name is not an error to zod (unknown keys are dropped), so the setting would silently not apply.
  it.each(SERVICES)("k8s sets only names the $compose's config schema reads", (service) => {
    const { deployment } = service;
    const c = container(byName('Deployment', deployment));
    const env = (c.env as Doc[]).map((e) => e.name as string);
    // Variables only the kubelet reads, to expand `$(NAME)` in another value of the same container.
    const expansionOnly = new Set(env.filter((name) => (c.env as Doc[]).some((e) => String(e.value ?? '').includes(`$(${name})`))));
    const names = [...env, ...Object.keys(configMap)].filter((name) => !expansionOnly.has(name) || known(service).has(name));
    expect(names.filter((name) => !known(service).has(name))).toEqual([]);
    expect(expansionOnly).toEqual(new Set(['REDIS_PASSWORD']));
  });

  it('k8s and compose run workers with the process environment npm start gives them', () => {
    const k8s = Object.fromEntries((container(byName('Deployment', 'triage-worker')).env as Doc[]).map((e) => [e.name, e.value]));
    expect(Object.keys(SERVICE_ENV.worker).length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(SERVICE_ENV.worker)) {
      expect(k8s[name]).toBe(value);
      expect(compose.services.worker.environment[name]).toBe(value);
    }
  });

  it.each(SERVICES)("compose sets only names the $compose's config schema reads", (service) => {
    const names = Object.keys(compose.services[service.compose].environment as Doc);
    expect(names.filter((name) => !known(service).has(name))).toEqual([]);
  });

  it('compose reads only variables .env.example documents', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const read = [...readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8').matchAll(/(?<!\$)\$\{(\w+)/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe('npm install', () => {
  it('runs no install script, and the lockfile has only the reviewed ones (.npmrc says why each is not needed)', () => {
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).toMatch(/^ignore-scripts=true$/m);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).flatMap(([path, p]) => (p.hasInstallScript ? [path.replace(/^.*node_modules\//, '')] : []));
    expect(withScripts.sort()).toEqual(['@scarf/scarf', 'msgpackr-extract', 'onnxruntime-node']);
  });
});

describe('Docker build context', () => {
  it('leaves out training checkpoints, runtime data and installed modules', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.cache', '.data', '**/node_modules', '.git', 'training/runs']) expect(ignored).toContain(entry);
  });

  it('starts the gateway with the node arguments npm start and the bench use', () => {
    const cmd = /^CMD (.*)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? 'null';
    expect(JSON.parse(cmd)).toEqual(['node', ...SERVICE_NODE_ARGS.gateway]);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Doc;

  const shell = { REDIS_PASSWORD: 'compose-password-0123' };

  it('wires gateway and worker to the redis service with valid env', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'redis', 'worker']);
    const gateway = gatewayConfigSchema.parse(interpolate(compose.services.gateway.environment, shell));
    const worker = workerConfigSchema.parse(interpolate(compose.services.worker.environment, shell));
    for (const url of [gateway.REDIS_URL, worker.REDIS_URL]) expect(new URL(url).hostname).toBe('redis');
    expect(compose.services.gateway.ports).toEqual([`${gateway.PORT}:${gateway.PORT}`]);
    expect(compose.services.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--appendfsync', '${REDIS_APPENDFSYNC:-everysec}']));
    expect(compose.services.worker.image).toBe(compose.services.gateway.image);
    expect(compose.services.gateway.command).toEqual(['node', ...SERVICE_NODE_ARGS.gateway]);
    expect(compose.services.worker.command).toEqual(['node', ...SERVICE_NODE_ARGS.worker]);
  });

  it('passes BOOTSTRAP_API_KEY from the environment or .env to the gateway, none when unset', () => {
    const env = compose.services.gateway.environment as Record<string, string>;
    expect(env.BOOTSTRAP_API_KEY).toBe('${BOOTSTRAP_API_KEY:-}');
    expect(gatewayConfigSchema.parse(interpolate(env, shell)).BOOTSTRAP_API_KEY).toBeUndefined();
    expect(gatewayConfigSchema.parse(interpolate(env, { ...shell, BOOTSTRAP_API_KEY: BOOTSTRAP_KEY })).BOOTSTRAP_API_KEY).toBe(BOOTSTRAP_KEY);
    expect(compose.services.worker.environment.BOOTSTRAP_API_KEY).toBeUndefined();
  });

  it('runs Redis with the password from the environment or .env, which both services send', () => {
    const redis = compose.services.redis as Doc;
    const args = (redis.command as string[]).map((a) => interpolateValue(a, shell));
    expect(args[args.indexOf('--requirepass') + 1]).toBe(shell.REDIS_PASSWORD);
    for (const service of ['gateway', 'worker']) {
      const url = new URL(interpolate(compose.services[service].environment, shell).REDIS_URL!);
      expect(decodeURIComponent(url.password)).toBe(shell.REDIS_PASSWORD);
      // No password, no start: compose stops with the message instead of running an open Redis.
      expect(() => interpolate(compose.services[service].environment, {})).toThrow(/REDIS_PASSWORD/);
    }
    // The health check authenticates too ($$: the container's shell expands it, not compose).
    expect(interpolate(redis.environment as Doc, shell).REDIS_PASSWORD).toBe(shell.REDIS_PASSWORD);
    expect(redis.healthcheck.test.join(' ')).toContain('REDISCLI_AUTH="$$REDIS_PASSWORD"');
  });
});
