import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../dist/index.js';
import { runCli } from './helpers/cli.js';

describe('learning', () => {
  it('reaches a validation accuracy only a correct trainer reaches, and saves PyTorch-named weights', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mlp-learn-')), 'model.safetensors');
    const r = await runCli('train.js', ['--threads', '2', '--train-rows', '3000', '--valid-rows', '1000', '--epochs', '3', '--json', '--save', file]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const epochs = lines.filter((l) => l.event === 'epoch');
    const done = lines.find((l) => l.event === 'done');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    // Chance is 10%; a linear model on 3,000 images gets to about 80%.
    expect(done.validAccuracy).toBeGreaterThan(0.83);
    expect(epochs[2].trainLoss).toBeLessThan(epochs[0].trainLoss / 2);

    const st = decodeSafetensors(readFileSync(file), file);
    expect([...st.tensors.keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect([...st.tensors.values()].map((t) => [t.dtype, t.shape])).toEqual([
      ['F32', [50, 784]],
      ['F32', [50]],
      ['F32', [10, 50]],
      ['F32', [10]],
    ]);
    expect(st.metadata.sizes).toBe('[784,50,10]');
    expect(st.metadata.step).toBe('180');
  });
});
