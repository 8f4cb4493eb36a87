import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startRedisServer } from './redis-server';

/**
 * Builds the workspaces (worker threads and the end-to-end tests run compiled JS) and starts
 * one redis-server for the whole run; each test file isolates itself with its own key prefix.
 */
export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '..', '..');
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
  const server = await startRedisServer();
  process.env.TEST_REDIS_URL = server.url;
  (globalThis as { __TRIAGE_REDIS__?: typeof server }).__TRIAGE_REDIS__ = server;
}
