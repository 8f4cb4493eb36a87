import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis-connection';

export type ScriptArg = string | number;

/** A Lua script registered on one connection: call it, or queue it in a MULTI with `in`. */
export interface RedisScript<R = unknown> {
  (...args: ScriptArg[]): Promise<R>;
  in(multi: ChainableCommander, ...args: ScriptArg[]): ChainableCommander;
}

/**
 * Registers `lua` under a namespaced command name (ioredis then handles EVALSHA and NOSCRIPT).
 * Without `numberOfKeys` the first argument of every call is the key count. ioredis adds the command
 * to the connection and its MULTIs at run time, out of reach of its types, so this is the one place
 * that reaches for it; `R` is what the script returns.
 */
export function defineScript<R = unknown>(redis: RedisClient, name: string, lua: string, numberOfKeys?: number): RedisScript<R> {
  redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
  const command = (target: object) => (target as Record<string, (...args: ScriptArg[]) => unknown>)[name]!;
  const script = (...args: ScriptArg[]) => command(redis).apply(redis, args) as Promise<R>;
  script.in = (multi: ChainableCommander, ...args: ScriptArg[]) => command(multi).apply(multi, args) as ChainableCommander;
  return script;
}
