import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { buildGateway } from '../../../tests/support/gateway';
import { uniquePrefix } from '../../../tests/support/test-redis';
import { withoutPaths } from './client-safe';

describe('withoutPaths', () => {
  it.each([
    ["ENOENT: no such file or directory, open '/srv/triage/models/v7/ngram.json'", "ENOENT: no such file or directory, open 'ngram.json'"],
    ['failed to load C:\\models\\triage\\model.onnx (bad magic)', 'failed to load model.onnx (bad magic)'],
    ['/abs/dir/', '[path]'],
    ['queue depth 3/5, ratio 1/2', 'queue depth 3/5, ratio 1/2'],
  ])('%j → %j', (input, output) => {
    expect(withoutPaths(input)).toBe(output);
  });
});

it('never shows the absolute model path to a client (/health, /v1)', async () => {
  const modelDir = join(mkdtempSync(join(tmpdir(), 'secret-layout-')), 'models', 'triage');
  const gw = buildGateway(uniquePrefix('paths'), undefined, { MODEL_DIR: modelDir });
  await gw.ready();
  try {
    const health = await request(gw.app).get('/health');
    expect(health.body.m1).toBe('unavailable');
    expect(health.body.m1_error).toMatch(/\S/);
    const v1 = await request(gw.app).post('/v1/tickets').send({ body: 'x' });
    expect(v1.status).toBe(503);
    for (const text of [JSON.stringify(health.body), JSON.stringify(v1.body)]) {
      expect(text).not.toContain(modelDir);
      expect(text).not.toContain(tmpdir());
    }
  } finally {
    await gw.close();
  }
});
