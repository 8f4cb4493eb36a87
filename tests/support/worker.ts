import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, silentLogger, workerConfigSchema } from '@triage/shared';
import { type TriageWorkerDeps, type TriageWorkerHooks, startTriageWorker } from '../../services/worker/src/triage-worker';
import { testRedisUrl } from './test-redis';

export const REPO_ROOT = resolve(__dirname, '..', '..');

/** The shipped model; TRIAGE_MODEL_DIR may point elsewhere while developing. */
export function modelDir(): string {
  const dir = process.env.TRIAGE_MODEL_DIR ? resolve(process.env.TRIAGE_MODEL_DIR) : join(REPO_ROOT, 'models', 'triage');
  if (!existsSync(join(dir, 'config.json'))) {
    throw new Error(`no model at ${dir}: run \`npm run train\` (or set TRIAGE_MODEL_DIR) before the worker tests`);
  }
  return dir;
}

export function testWorkerConfig(prefix: string, env: Record<string, string> = {}) {
  return workerConfigSchema.parse({
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    MODEL_DIR: modelDir(),
    WORKER_ID: `test-${randomUUID().slice(0, 8)}`,
    LOCK_BUSY_DELAY_MS: '200',
    ...env,
  });
}

export function startTestWorker(prefix: string, env: Record<string, string> = {}, hooks: TriageWorkerHooks = {}, deps: TriageWorkerDeps = {}) {
  // TEST_LOG_LEVEL=debug shows the worker's logs while debugging a test.
  const logger = process.env.TEST_LOG_LEVEL ? createLogger('test-worker', process.env.TEST_LOG_LEVEL) : silentLogger();
  return startTriageWorker(testWorkerConfig(prefix, env), logger, hooks, deps);
}
