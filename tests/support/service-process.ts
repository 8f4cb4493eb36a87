import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { testRedisUrl, uniquePrefix } from './test-redis';
import { REPO_ROOT, modelDir } from './worker';

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
  /** Resolves with the first log line containing `message`, parsed. */
  logged(message: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Runs a compiled service (`services/<name>/dist/main.js`) as a real process on the test Redis. */
export function spawnService(script: string, env: Record<string, string> = {}): ServiceProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, script)], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: testRedisUrl(), REDIS_PREFIX: uniquePrefix('proc'), MODEL_DIR: modelDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const find = (message: string) =>
    output
      .split('\n')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return null;
        }
      })
      .find((entry) => typeof entry?.message === 'string' && entry.message.includes(message));

  return {
    child,
    output: () => output,
    logged: (message) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const entry = find(message);
          if (entry) {
            listeners.delete(check);
            resolve(entry);
          }
        };
        listeners.add(check);
        check();
        void exited.then(() => reject(new Error(`${script} exited (${child.exitCode}) before logging "${message}":\n${output}`)));
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
