import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { workerConfigSchema } from '../config';
import { redisKeys } from '../queues';
import { queuePolicy } from './queue-policy';
import { TicketStore, type TriageResult } from './ticket-store';

const result = (over: Partial<TriageResult> = {}): TriageResult => ({
  category: 'IT Support',
  confidence: 0.8,
  top3: [{ category: 'IT Support', probability: 0.8 }],
  urgency_score: 0.6,
  action: 'HUMAN_REVIEW',
  model_version: 'sha256:test',
  model_used: 'encoder',
  processed_at: new Date().toISOString(),
  queue_ms: 3,
  inference_ms: 12,
  ...over,
});

// The worker's two ticket-store round trips per ticket (statistics are a third, in StatsStore): start (lock + processing) and commit (result + unlock + record).
describe('TicketStore.startProcessing and commitResult', () => {
  let redis: Redis;
  let keys: ReturnType<typeof redisKeys>;
  let store: TicketStore;

  beforeAll(() => {
    redis = plainRedis();
  });
  beforeEach(() => {
    keys = redisKeys(uniquePrefix('ticket-store'));
    store = new TicketStore(redis, keys, queuePolicy(workerConfigSchema.parse({})));
  });
  afterAll(async () => {
    await redis.quit();
  });

  const pending = async () =>
    (await store.create({ ticket_id: randomUUID(), body: 'VPN drops every hour', accepted_at: new Date().toISOString() })).ticketId;

  it('takes the lock and moves a pending ticket to processing, counted once', async () => {
    const id = await pending();
    expect(await store.startProcessing(id, 'tok', 10_000)).toEqual({ outcome: 'started', previous: 'pending' });
    expect(await redis.get(keys.ticketLock(id))).toBe('tok');
    expect(await redis.pttl(keys.ticketLock(id))).toBeGreaterThan(9_000);
    expect((await store.get(id))!.status).toBe('processing');
    expect(await redis.zscore(keys.pending, id)).toBeNull();
    expect(await store.statusCounts()).toMatchObject({ pending: 0, processing: 1 });
  });

  it('leaves a ticket another worker holds untouched', async () => {
    const id = await pending();
    await redis.set(keys.ticketLock(id), 'other', 'PX', 60_000);
    expect(await store.startProcessing(id, 'tok', 10_000)).toEqual({ outcome: 'locked' });
    expect(await redis.get(keys.ticketLock(id))).toBe('other');
    expect((await store.get(id))!.status).toBe('pending');
  });

  it('holds no lock for a missing ticket or one past processing', async () => {
    const missing = randomUUID();
    expect(await store.startProcessing(missing, 'tok', 10_000)).toEqual({ outcome: 'missing' });
    expect(await redis.exists(keys.ticketLock(missing))).toBe(0);

    const id = await pending();
    await store.startProcessing(id, 'tok', 10_000);
    expect((await store.commitResult(id, 'tok', result())).outcome).toBe('committed');
    expect(await store.startProcessing(id, 'again', 10_000)).toEqual({ outcome: 'done', status: 'processed' });
    expect(await redis.exists(keys.ticketLock(id))).toBe(0);
    expect(await store.statusCounts()).toMatchObject({ processing: 0, processed: 1 });
  });

  it('a commit gives the lock back and returns the record as stored', async () => {
    const id = await pending();
    await store.startProcessing(id, 'tok', 10_000);
    const committed = await store.commitResult(id, 'tok', result({ urgency_score: 0.9 }));
    expect(committed).toMatchObject({ outcome: 'committed', ticket: { ticket_id: id, status: 'processed', urgency_score: 0.9, category: 'IT Support' } });
    expect(committed.outcome === 'committed' && committed.ticket).toEqual(await store.get(id));
    expect(await redis.exists(keys.ticketLock(id))).toBe(0);
  });

  it('a commit without the lock changes nothing and leaves the holder its lock', async () => {
    const id = await pending();
    await store.startProcessing(id, 'tok', 10_000);
    await redis.set(keys.ticketLock(id), 'other', 'PX', 60_000);
    expect(await store.commitResult(id, 'tok', result())).toEqual({ outcome: 'lock-lost' });
    expect(await redis.get(keys.ticketLock(id))).toBe('other');
    expect((await store.get(id))!.status).toBe('processing');
  });
});
