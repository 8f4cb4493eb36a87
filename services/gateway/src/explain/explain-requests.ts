import { Queue, QueueEvents } from 'bullmq';
import {
  type ExplainJobData,
  type Explanation,
  type GatewayConfig,
  JobName,
  QueueName,
  type RedisClient,
  type RedisTarget,
  connectRedis,
  explanationSchema,
  redisKeys,
} from '@triage/shared';

export class ExplainUnavailableError extends Error {
  override readonly name = 'ExplainUnavailableError';
}

type ExplainConfig = Pick<GatewayConfig, keyof RedisTarget | 'REDIS_PREFIX' | 'EXPLAIN_TIMEOUT_MS'>;

interface Channel {
  queue: Queue<ExplainJobData>;
  events: QueueEvents;
  eventsConnection: RedisClient;
}

/**
 * Asks a worker for an explanation and waits for it: the encoder (and onnxruntime) lives only in the
 * worker, so the gateway sends an `explain` job and listens for its completion on the queue's events.
 * A ticket's finished explanation is kept five minutes, so a page reload asks the encoder nothing.
 * The queue and its events listener (a blocking connection of its own) start on the first request.
 */
export class ExplainRequests {
  private channel: Promise<Channel> | undefined;
  private readonly errorListeners: Array<(err: Error) => void> = [];

  /** `redis` is the gateway's producer connection (no offline queue: a Redis outage fails fast). */
  constructor(
    private readonly redis: RedisClient,
    private readonly config: ExplainConfig,
  ) {}

  onError(listener: (err: Error) => void): void {
    this.errorListeners.push(listener);
  }

  private open(): Promise<Channel> {
    this.channel ??= this.connect().catch((err: unknown) => {
      this.channel = undefined;
      throw err;
    });
    return this.channel;
  }

  private async connect(): Promise<Channel> {
    const prefix = redisKeys(this.config.REDIS_PREFIX).bullPrefix;
    const queue = new Queue<ExplainJobData>(QueueName.Explain, {
      connection: this.redis,
      prefix,
      defaultJobOptions: { attempts: 1, removeOnComplete: { age: 300, count: 1_000 }, removeOnFail: true },
    });
    const report = (err: Error) => this.errorListeners.forEach((listener) => listener(err));
    queue.on('error', report);
    let lastEventId: string;
    try {
      lastEventId = await this.eventsEnd(queue);
    } catch (err) {
      await queue.close().catch(() => undefined);
      throw err;
    }
    const eventsConnection = connectRedis(this.config, { kind: 'worker' });
    const events = new QueueEvents(QueueName.Explain, { connection: eventsConnection, prefix, lastEventId });
    events.on('error', report);
    eventsConnection.on('error', report);
    return { queue, events, eventsConnection };
  }

  /**
   * The id of the events stream's newest entry, where the listener starts reading. Not "$": that means
   * "after whatever exists when the first read arrives", and a job finishing before that read (a quick
   * explanation on a freshly opened listener) would never be heard of.
   */
  private async eventsEnd(queue: Queue<ExplainJobData>): Promise<string> {
    await queue.waitUntilReady();
    const [newest] = await this.redis.xrevrange(queue.toKey('events'), '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  async explain(data: ExplainJobData): Promise<Explanation> {
    const { queue, events } = await this.open();
    // One job per ticket: concurrent requests for the same ticket share it.
    const job = await queue.add(JobName.Explain, data, { jobId: data.ticket_id });
    let result: unknown;
    try {
      result = await job.waitUntilFinished(events, this.config.EXPLAIN_TIMEOUT_MS);
    } catch (err) {
      // Nobody waits any more: do not leave the work queued for a worker (best effort; a running job stays).
      await job.remove().catch(() => undefined);
      throw new ExplainUnavailableError(`no worker explained the ticket: ${(err as Error).message}`);
    }
    const parsed = explanationSchema.safeParse(result);
    if (!parsed.success) throw new ExplainUnavailableError('a worker answered with a malformed explanation');
    return parsed.data;
  }

  async close(): Promise<void> {
    const channel = await this.channel?.catch(() => undefined);
    if (!channel) return;
    await channel.events.close().catch(() => undefined);
    await channel.queue.close().catch(() => undefined);
    channel.eventsConnection.disconnect();
  }
}
