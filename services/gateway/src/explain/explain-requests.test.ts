import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { type Explanation, QueueName, gatewayConfigSchema, redisKeys } from '@triage/shared';
import { plainRedis, testRedisUrl, uniquePrefix } from '../../../../tests/support/test-redis';
import { connectProducerRedis } from '../connections';
import { ExplainRequests } from './explain-requests';

jest.setTimeout(60_000);

const answer = (ticketId: string): Explanation => ({
  ticket_id: ticketId,
  model_version: 'test',
  model_used: 'fallback',
  queue: { category: 'Billing and Payments', probability: 0.9, evidence: [] },
  urgency: { score: 0.2, evidence: [] },
  occlusion_segments: 0,
  compute_ms: 0,
});

/**
 * A gateway's first explain request opens its events listener. The worker may finish the job before
 * that listener's first read of the events stream: the answer must still arrive (a listener reading
 * from "now" drops it, and the request waits out its timeout).
 */
describe('ExplainRequests', () => {
  const prefix = uniquePrefix('explain-requests');
  const config = gatewayConfigSchema.parse({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, EXPLAIN_TIMEOUT_MS: '2000' });
  const workerConnection = plainRedis();
  let delayMs = 0;
  const worker = new Worker(
    QueueName.Explain,
    async (job) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return answer(job.data.ticket_id as string);
    },
    { connection: workerConnection, prefix: redisKeys(prefix).bullPrefix, concurrency: 4 },
  );

  afterAll(async () => {
    await worker.close();
    workerConnection.disconnect();
  });

  it("answers every gateway's first request, however soon the worker finishes it", async () => {
    await worker.waitUntilReady();
    // From instant to a few Redis round trips: the span in which the listener may not read yet.
    for (const delay of Array.from({ length: 40 }, (_, i) => i % 8)) {
      delayMs = delay;
      const redis = connectProducerRedis(config);
      const requests = new ExplainRequests(redis, config);
      try {
        const ticketId = randomUUID();
        await expect(requests.explain({ ticket_id: ticketId, body: 'The export button does nothing.' })).resolves.toEqual(answer(ticketId));
      } finally {
        await requests.close();
        redis.disconnect();
      }
    }
  });
});
