import { errorMessage } from '../error-message';
import type { RedisClient } from '../redis-connection';
import type { Logger } from '../logger';
import type { ActiveModel, ModelRegistry } from '../store/model-registry';

export interface ModelFollowerOptions {
  registry: ModelRegistry;
  /** A connection of its own: a subscribed connection can run nothing else. */
  subscriber: RedisClient;
  channel: string;
  /** Polling makes a process converge even when it missed the announcement (reconnect, late start). */
  pollIntervalMs: number;
  /** Worker or gateway id, under which the load reports are kept. */
  processId: string;
  /** The version this process serves now. */
  current: () => string;
  /** Loads, warms up and swaps in `active`; throws (with the reason) to keep serving the current one. */
  load: (active: ActiveModel) => Promise<void>;
  logger: Logger;
}

export interface ModelFollower {
  /** Looks at the active version now (also what the announcement and the poll do). */
  check(): Promise<void>;
  stop(): Promise<void>;
}


/**
 * One promotion or rollback of the active model: promoted_at is new each time, so asking again for a
 * version that failed is a new request, while the polls and announcements in between are not.
 */
const requestOf = (active: ActiveModel) => `${active.version}@${active.dir}@${active.promoted_at}`;

/**
 * Keeps a process on the active model version (`keys.modelActive`): on each announcement and each
 * poll it compares, and loads a different version once. A version that failed to load is tried
 * again only when it is promoted (or rolled back to) again — then the switch waiting for this
 * process hears the outcome at once — and every failure is reported for `npm run model`.
 */
export async function followActiveModel(o: ModelFollowerOptions): Promise<ModelFollower> {
  let chain = Promise.resolve();
  let failed: string | undefined;
  let stopped = false;

  async function attempt(): Promise<void> {
    if (stopped) return;
    const active = await o.registry.active();
    if (!active || active.version === o.current() || requestOf(active) === failed) return;
    o.logger.info('loading the active model', { model_version: active.version, model_dir: active.dir, serving: o.current() });
    try {
      await o.load(active);
      failed = undefined;
      await o.registry.report(o.processId, { version: active.version, ok: true, at: new Date().toISOString() });
      o.logger.info('now serving the active model', { model_version: active.version });
    } catch (err) {
      failed = requestOf(active);
      await o.registry.report(o.processId, { version: active.version, ok: false, error: errorMessage(err), at: new Date().toISOString() });
      o.logger.error('active model failed to load; still serving the previous one', {
        model_version: active.version,
        model_dir: active.dir,
        serving: o.current(),
        error: errorMessage(err),
      });
    }
  }

  // One check at a time: an announcement during a load waits for it instead of loading twice.
  const check = () => (chain = chain.then(attempt).catch((err: unknown) => {
        o.logger.warn('model check failed', { error: errorMessage(err) });
      }));

  o.subscriber.on('message', (channel: string) => {
    if (channel === o.channel) void check();
  });
  o.subscriber.on('error', () => undefined);
  await o.subscriber.subscribe(o.channel);
  const timer = setInterval(() => void check(), o.pollIntervalMs);
  timer.unref();
  await check();

  return {
    check,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
      await o.subscriber.quit().catch(() => o.subscriber.disconnect());
    },
  };
}
