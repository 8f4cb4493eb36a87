import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ModelRegistry, modelComparisonSchema, modelsResponseSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { expectDocumented } from '../../../../tests/support/openapi';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { shippedLabels, writeModelBundle } from '../../../../tests/support/model-bundles';
import { modelDir } from '../../../../tests/support/worker';

/**
 * /v2/models against real Redis and a real `python -m training compare`: bundles under a temporary
 * models root (the shipped model's files, relabelled), compared on a small held-back split.
 */
jest.setTimeout(600_000);

const root = mkdtempSync(join(tmpdir(), 'triage-models-'));
const outside = mkdtempSync(join(tmpdir(), 'triage-outside-'));
const CURRENT = 'sha256:c0ffee0000000001';
const SAME = 'sha256:c0ffee0000000002';
const WORSE = 'sha256:c0ffee0000000003';
const labels = shippedLabels();

writeModelBundle(join(root, 'current'), CURRENT);
writeModelBundle(join(root, 'same'), SAME);
// the encoder's outputs named in the wrong order: a much worse model
writeModelBundle(join(root, 'worse'), WORSE, [...labels.slice(1), labels[0]!]);
mkdirSync(join(root, 'broken'));
writeFileSync(join(root, 'broken', 'config.json'), '{"model_version": ');
writeModelBundle(join(outside, 'elsewhere'), 'sha256:c0ffee0000000009');
symlinkSync(join(outside, 'elsewhere'), join(root, 'escape'));

let gw: TestGateway;
let prefix: string;
const env = { MODELS_ROOT: root, MODEL_DIR: join(root, 'current') };

beforeEach(async () => {
  prefix = uniquePrefix('gw-models');
  gw = buildGateway(prefix, undefined, env);
  await gw.ready();
});
afterEach(() => gw.close());
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function finished(id: string) {
  return eventually(`comparison ${id} finished`, async () => {
    const res = await request(gw.app).get(`/v2/models/compare/${id}`);
    expect(res.status).toBe(200);
    return res.body.status === 'running' ? undefined : res;
  }, { intervalMs: 500 });
}

describe('/v2/models', () => {
  it('lists the bundles under the models root by name, with their card figures and the active one', async () => {
    const res = await request(gw.app).get('/v2/models');
    expect(res.status).toBe(200);
    expectDocumented(res);
    const body = modelsResponseSchema.parse(res.body);
    expect(body.active).toEqual({ version: CURRENT, name: 'current', promoted_at: null, previous_version: null });
    expect(body.versions.map((v) => v.name)).toEqual(['current', 'same', 'worse']);
    const card = JSON.parse(readFileSync(join(modelDir(), 'metrics.json'), 'utf8')) as { served: { accuracy: number; macro_f1: number }; alert: { test: { precision: number } } };
    expect(body.versions[0]).toEqual({
      name: 'current',
      version: CURRENT,
      active: true,
      previous: false,
      card: expect.objectContaining({ accuracy: card.served.accuracy, macro_f1: card.served.macro_f1, alert_precision: card.alert.test.precision }),
    });
    expect(JSON.stringify(res.body)).not.toContain(root);
  });

  it('compares in a child process, refuses to promote a worse candidate unless forced, and rolls back', async () => {
    const started = await request(gw.app).post('/v2/models/compare').send({ candidate: 'worse' });
    expect(started.status).toBe(202);
    expectDocumented(started);
    expect(started.body).toMatchObject({ status: 'running', candidate: { name: 'worse', version: WORSE }, active: { name: 'current', version: CURRENT }, verdict: null });
    expect(started.headers.location).toBe(`/v2/models/compare/${started.body.id}`);
    // one comparison at a time per gateway
    const second = await request(gw.app).post('/v2/models/compare').send({ candidate: 'same' });
    expect(second.status).toBe(409);

    const done = await finished(started.body.id);
    expectDocumented(done);
    const comparison = modelComparisonSchema.parse(done.body);
    expect(comparison).toMatchObject({ status: 'done', verdict: 'worse', error: null });
    const split = comparison.sets.find((s) => s.name === 'held-back split')!;
    expect(split.candidate.rows).toBe(40);
    expect(split.candidate.accuracy).toBeLessThan(split.active.accuracy);

    const refused = await request(gw.app).post('/v2/models/promote').send({ candidate: 'worse' });
    expect(refused.status).toBe(409);
    expectDocumented(refused);
    expect(refused.body.error).toMatch(/^refusing to promote sha256:c0ffee0000000003: it is worse/);
    expect(await new ModelRegistry(gw.redis, gw.keys).active()).toBeNull();

    // forced (by version id this time): no live worker here, so the switch completes at once
    const forced = await request(gw.app).post('/v2/models/promote').send({ candidate: WORSE, force: true });
    expect(forced.status).toBe(200);
    expectDocumented(forced);
    expect(forced.body).toEqual({ active: { version: WORSE, name: 'worse', promoted_at: expect.any(String), previous_version: CURRENT }, workers: 0 });
    const listed = (await request(gw.app).get('/v2/models')).body as { active: { version: string }; versions: Array<{ name: string; active: boolean; previous: boolean }> };
    expect(listed.active.version).toBe(WORSE);
    expect(listed.versions.filter((v) => v.active || v.previous).map((v) => [v.name, v.active])).toEqual([['current', false], ['worse', true]]);

    const back = await request(gw.app).post('/v2/models/rollback');
    expect(back.status).toBe(200);
    expectDocumented(back);
    expect(back.body.active).toMatchObject({ version: CURRENT, name: 'current', previous_version: WORSE });
  });

  it('promotes a candidate that compared no worse, and only after its comparison', async () => {
    const early = await request(gw.app).post('/v2/models/promote').send({ candidate: 'same' });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/first/);

    const started = await request(gw.app).post('/v2/models/compare').send({ candidate: 'same' });
    expect(started.status).toBe(202);
    const done = await finished(started.body.id);
    expect(done.body).toMatchObject({ status: 'done', verdict: 'same' });

    const promoted = await request(gw.app).post('/v2/models/promote').send({ candidate: 'same' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.active).toMatchObject({ version: SAME, name: 'same', previous_version: CURRENT });
    expect(await new ModelRegistry(gw.redis, gw.keys).active()).toMatchObject({ version: SAME, dir: join(root, 'same') });
    expect((await request(gw.app).post('/v2/models/promote').send({ candidate: 'same' })).status).toBe(409);
  });

  it("lists a worker's load failure without the bundle's absolute path", async () => {
    const models = new ModelRegistry(gw.redis, gw.keys);
    await models.report('worker:w-paths', { version: 'sha256:c0ffee00000000aa', ok: false, error: `ONNX model ${join(root, 'broken', 'onnx', 'model_quantized.onnx')} cannot be loaded: bad magic`, at: new Date().toISOString() });
    try {
      const res = await request(gw.app).get('/v2/models');
      expect(res.body.load_failures).toContainEqual(expect.objectContaining({ process: 'worker:w-paths', error: 'ONNX model model_quantized.onnx cannot be loaded: bad magic' }));
      expect(JSON.stringify(res.body)).not.toContain(root);
    } finally {
      await gw.redis.hdel(gw.keys.modelReports, 'worker:w-paths');
    }
  });

  it('names only bundles directly under the models root, and answers bad input with JSON 4xx that changes nothing', async () => {
    const cases: Array<[string, unknown, number]> = [
      ['/v2/models/compare', {}, 400],
      ['/v2/models/compare', { candidate: '../triage' }, 400],
      ['/v2/models/compare', { candidate: 'current/../../etc' }, 400],
      ['/v2/models/compare', { candidate: 'same', extra: 1 }, 400],
      ['/v2/models/compare', { candidate: 'nope' }, 404],
      ['/v2/models/compare', { candidate: 'escape' }, 404],
      ['/v2/models/compare', { candidate: 'sha256:c0ffee0000000009' }, 404],
      ['/v2/models/compare', { candidate: 'broken' }, 422],
      ['/v2/models/compare', { candidate: 'current' }, 409],
      ['/v2/models/promote', { candidate: 'same', force: 'yes' }, 400],
      ['/v2/models/promote', { candidate: 'escape', force: true }, 404],
      ['/v2/models/promote', { candidate: 'broken', force: true }, 422],
      ['/v2/models/promote', { candidate: 'current' }, 409],
      ['/v2/models/rollback', undefined, 409],
    ];
    for (const [path, body, status] of cases) {
      const res = await request(gw.app).post(path).send(body as object);
      expect([path, body, res.status]).toEqual([path, body, status]);
      expect(typeof res.body.error).toBe('string');
      expectDocumented(res);
    }
    const unknown = await request(gw.app).get('/v2/models/compare/6f1c8d2e-4b7a-4c3e-9a51-2d8f0e7b9c14');
    expect(unknown.status).toBe(404);
    expect((await request(gw.app).get('/v2/models/compare/not-an-id')).status).toBe(404);
    expect(await new ModelRegistry(gw.redis, gw.keys).active()).toBeNull();
  });

  it('answers 503 when this gateway cannot run the comparison, and needs the admin scope', async () => {
    const noPython = buildGateway(prefix, undefined, { ...env, MODEL_COMPARE_PYTHON: join(outside, 'no-such-python') });
    try {
      await noPython.ready();
      const res = await request(noPython.app).post('/v2/models/compare').send({ candidate: 'same' });
      expect(res.status).toBe(503);
      expectDocumented(res);
      expect(res.body.error).toMatch(/^model comparison is unavailable on this gateway: .*no-such-python is not installed here/);
    } finally {
      await noPython.close();
    }
    const authed = buildGateway(prefix, undefined, { ...env, AUTH: 'on' });
    try {
      await authed.ready();
      const agent = (await authed.apiKeys.create('an agent', ['agent'])).key;
      for (const [method, path] of [['get', '/v2/models'], ['post', '/v2/models/compare'], ['post', '/v2/models/promote'], ['post', '/v2/models/rollback']] as const) {
        expect((await request(authed.app)[method](path).set('Authorization', `Bearer ${agent}`).send({ candidate: 'same' })).status).toBe(403);
      }
    } finally {
      await authed.close();
    }
  });
});
