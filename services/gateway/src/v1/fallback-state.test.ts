import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelDir } from '../../../../tests/support/worker';
import { loadFallbackState } from './fallback-state';

describe('the gateway n-gram model, loaded on first use', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'triage-fallback-'));
    for (const file of ['config.json', 'ngram.json']) copyFileSync(join(modelDir(), file), join(dir, file));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('tries a failed load again only once ngram.json has changed', () => {
    const path = join(dir, 'ngram.json');
    const whole = readFileSync(path);
    // The same size and modification time as the whole file: only the content differs.
    const broken = Buffer.from(whole);
    broken[0] = 0x78;
    const stamp = new Date('2026-01-01T00:00:00Z');
    const state = loadFallbackState(dir);
    if (state.status !== 'ready') throw new Error(state.detail);

    writeFileSync(path, broken);
    utimesSync(path, stamp, stamp);
    expect(() => state.model()).toThrow(/not valid JSON/);
    writeFileSync(path, whole);
    utimesSync(path, stamp, stamp);
    expect(() => state.model()).toThrow(/not valid JSON/);

    utimesSync(path, new Date(), new Date());
    expect(state.model().modelVersion).toBe(state.bundle.modelVersion);
    expect(state.model()).toBe(state.model());
  });
});
