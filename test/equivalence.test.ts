import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Arena, arenaAllocator, createTrainer, fit, headSplit, loadMnist } from '../dist/index.js';
import { figures, runCli } from './helpers/cli.js';

// Byte-identical results whatever the thread count: a row's values depend on that row alone, and
// every gradient element is summed over the batch rows in row order, whatever the work's cut.
const dir = mkdtempSync(join(tmpdir(), 'mlp-equiv-'));

/**
 * A CLI run on `threads` threads. With `cores`, the engine plans for that many cores
 * (MLP_PARALLEL_CORES), so every thread takes part in the steps even on a smaller machine; without,
 * threads beyond the machine's cores wait the run out.
 */
async function train(threads: number, extra: string[], cores?: number): Promise<{ weights: Buffer; figures: unknown[] }> {
  const file = join(dir, `w-${threads}-${cores ?? 'machine'}-${extra.join('_')}.safetensors`);
  const args = ['--threads', String(threads), '--train-rows', '2000', '--valid-rows', '1000', '--json', '--save', file, ...extra];
  const env = cores === undefined ? process.env : { ...process.env, MLP_PARALLEL_CORES: String(cores) };
  const r = await runCli('train.js', args, { env });
  expect(r.stderr).toBe(`saved checkpoint to ${file}\n`);
  expect(r.code).toBe(0);
  return { weights: readFileSync(file), figures: figures(r.stdout) };
}

describe('thread-count equivalence through the CLI', () => {
  for (const extra of [
    ['--steps', '30', '--bs', '50'], // the lesson's batch
    ['--epochs', '1', '--bs', '130', '--hidden', '20,12'], // a partial last batch, two hidden layers
    ['--steps', '40', '--bs', '64', '--momentum', '0.9', '--wd', '0.0005', '--lr', '0.05'], // momentum and weight decay
    ['--steps', '10', '--bs', '50', '--kernel', 'js', '--momentum', '0.5'], // the reference kernel
    ['--steps', '40', '--bs', '64', '--clip', '1', '--noise', '1.1', '--sampling', 'poisson', '--lr', '1', '--momentum', '0.5'], // DP-SGD: clipping, noise, Poisson batches
    ['--epochs', '2', '--bs', '64', '--opt', 'adamw', '--schedule', 'onecycle', '--lr', '0.01'], // AdamW through a whole one-cycle schedule
  ]) {
    it(`gives byte-identical weights and figures for 1, 2, 3 and 8 threads (${extra.join(' ')})`, async () => {
      const runs = [];
      for (const t of [1, 2, 3, 8]) runs.push(await train(t, extra, t));
      runs.push(await train(8, extra)); // as many threads computing as the machine has cores
      for (const r of runs.slice(1)) {
        expect(r.weights.equals(runs[0].weights)).toBe(true);
        expect(r.figures).toEqual(runs[0].figures);
      }
      // The run trained: the weights moved, the loss is finite.
      expect(runs[0].figures.length).toBeGreaterThan(1);
    });
  }

  it('matches the single-thread engine of the library byte for byte', async () => {
    const cli = await train(2, ['--steps', '30', '--bs', '50']);
    const arena = new Arena();
    const all = loadMnist({ alloc: arenaAllocator(arena) });
    const data = { ...all, train: headSplit(all.train, 2000), valid: headSplit(all.valid, 1000) };
    const { engine, loader } = createTrainer(data, { threads: 1, batchSize: 50 }, arena);
    await fit(engine, loader, { epochs: 5, lr: 0.2, maxSteps: 30 });
    await engine.close();
    // The safetensors data section is the parameter block as it lies, at the end of the file.
    const w = engine.weights();
    const local = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    expect(cli.weights.subarray(cli.weights.length - local.length).equals(local)).toBe(true);
  });
});
