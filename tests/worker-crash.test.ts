import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { type TestGateway, buildGateway } from './support/gateway';
import { eventually, testRedisUrl, uniquePrefix } from './support/test-redis';
import { modelDir, startTestWorker } from './support/worker';

// Real worker processes killed with SIGKILL while they hold a job; Redis and BullMQ are real.
jest.setTimeout(60_000);

// Short job locks so a dead worker's job is found within about 1.5 s.
const LOCKS = { LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500', LOCK_BUSY_DELAY_MS: '200' };

let gw: TestGateway;
const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  gw = buildGateway(uniquePrefix('crash'));
  await gw.ready();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(closers.splice(0).map((close) => close()));
  await gw.close();
});

/** A worker process whose encoder never answers: whatever job it takes stays in flight until it dies. */
async function hangingWorker(): Promise<ChildProcess> {
  const env = {
    ...process.env,
    ...LOCKS,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: gw.config.REDIS_PREFIX,
    MODEL_DIR: modelDir(),
    WORKER_CONCURRENCY: '1',
    ENCODER_LATENCY_BUDGET_MS: '600000',
    TEST_ENCODER: 'hang',
    LOG_LEVEL: 'error',
  };
  const child = fork(join(__dirname, 'support', 'triage-process.js'), [], { env, stdio: 'inherit' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
}

async function inProcessWorker() {
  const handle = await startTestWorker(gw.config.REDIS_PREFIX, LOCKS);
  closers.push(() => handle.close());
  return handle;
}

async function submit(body: string): Promise<string> {
  const res = await request(gw.app).post('/v2/tickets').send({ body });
  expect(res.status).toBe(202);
  return res.body.ticket_id as string;
}

const ticketStatus = async (id: string) => (await gw.store.get(id))?.status;
const untilStatus = (id: string, status: string) => eventually(`ticket ${id} ${status}`, async () => ((await ticketStatus(id)) === status ? true : undefined));

describe('a worker killed while it holds a ticket', () => {
  it('hands the ticket to another worker once the job lock lapses, and it is processed once', async () => {
    const doomed = await hangingWorker();
    const id = await submit('Checkout page returns 502 for every customer since the deploy');
    await untilStatus(id, 'processing');
    const survivor = await inProcessWorker();
    await kill(doomed);

    const job = await eventually('the job finished', async () => {
      const j = await gw.ticketsQueue.getJob(id);
      return j?.finishedOn ? j : undefined;
    });
    expect(job.stalledCounter).toBe(1);
    expect(job.returnvalue).toEqual({ ticket_id: id, outcome: 'processed' });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0, processing: 0, processed: 1, failed: 0, waiting_for_agent: 1 });
    expect(survivor.breaker().state).toBe('closed');
  });

  it('marks the ticket failed when its job stalls more often than MAX_STALLED_COUNT allows', async () => {
    const id = await submit('A ticket that takes its worker down each time');
    const first = await hangingWorker();
    await untilStatus(id, 'processing');
    await kill(first);

    // The second worker finds the job stalled once, takes it, and dies holding it as well.
    const second = await hangingWorker();
    await eventually('the job stalled once and active again', async () => {
      const job = await gw.ticketsQueue.getJob(id);
      return job?.stalledCounter === 1 && (await job.getState()) === 'active' ? true : undefined;
    });
    await kill(second);

    // BullMQ fails it on the next pick-up (stalled twice > MAX_STALLED_COUNT=1), without running it.
    await inProcessWorker();
    await untilStatus(id, 'failed');
    expect(await gw.store.get(id)).toMatchObject({ status: 'failed', error: 'job stalled more than allowable limit' });
    expect(await (await gw.ticketsQueue.getJob(id))!.getState()).toBe('failed');
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0, processing: 0, processed: 0, failed: 1 });
  });
});
