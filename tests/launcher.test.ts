import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const START = join(__dirname, '..', 'scripts', 'dist', 'start.js');
const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [START], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });

describe('npm start launcher', () => {
  it('explains how to install redis-server when it is missing', () => {
    const result = run({ REDIS_SERVER_BIN: '/nonexistent/redis-server' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/redis-server was not found/);
    expect(result.stderr).toMatch(/apt-get install redis-server/);
    expect(result.stderr).toMatch(/REDIS_URL/);
  });

  it('refuses invalid configuration with a readable message', () => {
    const result = run({ PORT: 'eighty', WORKERS: '0' });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/^Invalid configuration:/);
    expect(result.stderr).toMatch(/PORT:/);
    expect(result.stderr).toMatch(/WORKERS:/);
  });
});
