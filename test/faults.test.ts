import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-faults-'));
const small = ['--train-rows', '2000', '--valid-rows', '500'];

describe('a worker that fails', () => {
  for (const mode of ['throw', 'exit'] as const) {
    it(`stops the run with one line naming it when it ${mode === 'throw' ? 'throws' : 'exits'}, and leaves the old checkpoint alone`, async () => {
      const file = join(dir, `keep-${mode}.safetensors`);
      writeFileSync(file, 'an earlier checkpoint');
      const env = { ...process.env, MLP_PARALLEL_FAULT: `worker:1,step:5${mode === 'exit' ? ',exit' : ''}` };
      const t0 = performance.now();
      const r = await runCli('train.js', ['--threads', '2', ...small, '--epochs', '1', '--save', file], { env, timeoutMs: 30_000 });
      expect(r.signal).toBe(null); // ended by itself, not by the test's kill
      expect(r.code).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(mode === 'throw' ? /^train: error: worker 1 failed during step \d+: injected fault/ : /^train: error: (worker 1|a worker) failed during step \d+: .*exit/i);
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(readFileSync(file, 'utf8')).toBe('an earlier checkpoint');
    });
  }
});

describe('divergence', () => {
  it('stops with the step and a hint, and writes no checkpoint', async () => {
    const file = join(dir, 'diverged.safetensors');
    const r = await runCli('train.js', ['--threads', '2', ...small, '--lr', '1000', '--save', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^train: error: training diverged at step \d+: .*; try a lower learning rate \(--lr\)$/m);
    expect(() => readFileSync(file)).toThrow();
  });
});
