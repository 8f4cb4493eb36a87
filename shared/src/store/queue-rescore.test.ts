import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { processTicket } from '../../../tests/support/tickets';
// the type the shared helper takes (the package's), the same class at run time
import { TicketStore } from '@triage/shared';
import { workerConfigSchema } from '../config';
import { redisKeys } from '../queues';
import { queuePolicy } from './queue-policy';
import { QUEUE_RATE_SUFFIX } from './ticket-scripts';

const HOUR_MS = 3_600_000;
const OLD_RATE = 0.05;
const NEW_RATE = 0.5;

// A service restarted with another AGING_PER_HOUR: the queue must follow the new rate for every ticket, old and new.
describe('TicketStore: the agents\' queue after AGING_PER_HOUR changed', () => {
  let redis: Redis;
  let keys: ReturnType<typeof redisKeys>;
  const acceptedAt = new Map<string, { urgency: number; atMs: number }>();

  const storeWith = (rate: number, startedAt?: number) =>
    new TicketStore(redis, keys, queuePolicy(workerConfigSchema.parse({ AGING_PER_HOUR: String(rate) })), startedAt);

  async function queue(store: TicketStore, urgency: number, hoursAgo: number): Promise<string> {
    const id = randomUUID();
    const atMs = Date.now() - hoursAgo * HOUR_MS;
    await store.create({ ticket_id: id, body: `u=${urgency}`, accepted_at: new Date(atMs).toISOString() });
    await processTicket(store, id, urgency);
    acceptedAt.set(id, { urgency, atMs });
    return id;
  }

  /** What the docs promise: urgency + AGING_PER_HOUR × hours waited, highest first. */
  function expectedOrder(ids: string[], rate: number, nowMs: number): string[] {
    const effective = (id: string) => acceptedAt.get(id)!.urgency + (rate * (nowMs - acceptedAt.get(id)!.atMs)) / HOUR_MS;
    return [...ids].sort((a, b) => effective(b) - effective(a));
  }

  async function expectServedByRate(store: TicketStore, ids: string[], rate: number): Promise<void> {
    const waiting = await redis.zrevrange(keys.urgency, 0, -1);
    expect(waiting).toEqual(expectedOrder(ids, rate, Date.now()));
    // What /v2/tickets/waiting shows beside that order falls along it.
    const shown = await Promise.all(waiting.map(async (id) => (await store.get(id))!.effective_priority!));
    expect(shown).toEqual([...shown].sort((a, b) => b - a));
    const served: string[] = [];
    for (let t = await store.leaseNext('bob'); t !== null; t = await store.leaseNext('bob')) served.push(t.ticket_id);
    expect(served).toEqual(waiting);
  }

  beforeAll(() => {
    redis = plainRedis();
  });
  beforeEach(() => {
    keys = redisKeys(uniquePrefix('rescore'));
    acceptedAt.clear();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('rescores the tickets queued under the old rate, and a ticket leased meanwhile goes back at its new place', async () => {
    const before = storeWith(OLD_RATE);
    const old = [await queue(before, 0.9, 1), await queue(before, 0.2, 6), await queue(before, 0.5, 3), await queue(before, 0.1, 10)];
    const leased = (await before.leaseNext('alice'))!.ticket_id;
    expect(leased).toBe(old[0]);

    const after = storeWith(NEW_RATE);
    const fresh = [await queue(after, 0.3, 2), await queue(after, 0.7, 0), await queue(after, 0.05, 4)];
    // The first commit started the rescoring; this joins it (or finds the queue already rescored).
    await after.rescoreQueue();
    expect((await after.release(leased, 'alice')).ok).toBe(true);

    await expectServedByRate(after, [...old, ...fresh], NEW_RATE);
  });

  it('rescores a queue from before the rate was recorded, whose old and new entries were scored with different rates', async () => {
    const before = storeWith(OLD_RATE);
    const old = [await queue(before, 0.9, 1), await queue(before, 0.2, 6), await queue(before, 0.1, 10)];
    const leased = (await before.leaseNext('alice'))!.ticket_id;
    // What the service left behind before it recorded rates and queue entry times.
    await redis.del(`${keys.urgency}${QUEUE_RATE_SUFFIX}`);
    for (const id of old) await redis.hdel(keys.ticket(id), 'queued_at');

    const after = storeWith(NEW_RATE);
    const fresh = [await queue(after, 0.3, 2), await queue(after, 0.7, 0)];
    await after.rescoreQueue();
    expect((await after.release(leased, 'alice')).ok).toBe(true);

    await expectServedByRate(after, [...old, ...fresh], NEW_RATE);
  });

  it('never shows /next a half-rescored queue: each ticket it serves is the first by the old rate or by the new one', async () => {
    const before = storeWith(OLD_RATE);
    // Enough tickets for several staging chunks; a fixed spread of urgencies and waits.
    const ids: string[] = [];
    for (let i = 0; i < 300; i += 1) ids.push(await queue(before, ((i * 37) % 100) / 100, ((i * 53) % 200) / 10));
    const after = storeWith(NEW_RATE);
    let rescored = false;
    const rescoring = after.rescoreQueue().then(() => (rescored = true));
    const left = new Set(ids);
    for (let lastRound = false; !lastRound; ) {
      lastRound = rescored;
      const served = (await after.leaseNext('bob'))!.ticket_id;
      const firsts = [OLD_RATE, NEW_RATE].map((rate) => expectedOrder([...left], rate, Date.now())[0]);
      expect(firsts).toContain(served);
      left.delete(served);
    }
    await rescoring;
    expect(left.size).toBeGreaterThan(0);
    await expectServedByRate(after, [...left], NEW_RATE);
  });

  it('follows the process started last while two rates are live (a rolling restart), instead of going back and forth', async () => {
    const older = storeWith(OLD_RATE, Date.now() - 60_000);
    const ids = [await queue(older, 0.9, 1), await queue(older, 0.2, 6), await queue(older, 0.5, 3)];
    const newer = storeWith(NEW_RATE, Date.now());
    expect(await newer.rescoreQueue()).toBe(3);

    // The older process still commits and sweeps: its ticket takes the queue's rate, the queue stays as it is.
    ids.push(await queue(older, 0.3, 2));
    expect(await older.rescoreQueue()).toBe(0);
    expect(await redis.get(`${keys.urgency}${QUEUE_RATE_SUFFIX}`)).toBe(String(NEW_RATE));
    expect(await redis.hget(keys.ticket(ids[3]!), 'aging_per_hour')).toBe(String(NEW_RATE));
    expect(await newer.rescoreQueue()).toBe(0);

    // A process started later than both is the newest setting, whatever its rate.
    const latest = storeWith(OLD_RATE, Date.now() + 1_000);
    expect(await latest.rescoreQueue()).toBe(4);
    await expectServedByRate(latest, ids, OLD_RATE);
  });

  it('leaves a queue scored with its own rate alone', async () => {
    const store = storeWith(NEW_RATE);
    const ids = [await queue(store, 0.4, 1), await queue(store, 0.6, 0)];
    expect(await store.rescoreQueue()).toBe(0);
    await expectServedByRate(store, ids, NEW_RATE);
  });
});
