import { describe, expect, it } from 'vitest';
import { Arena, arenaAllocator, createTrainer, fit, headSplit, loadMnist, type Dataset } from '../dist/index.js';

// Extreme sizes train correctly and give the same bytes at every thread count.
const arena = new Arena();
const mnist = loadMnist({ alloc: arenaAllocator(arena) });

function subset(train: number, valid: number): Dataset {
  return { ...mnist, train: headSplit(mnist.train, train), valid: headSplit(mnist.valid, valid) };
}

interface Case {
  name: string;
  data: Dataset;
  hidden: number[];
  bs: number;
  epochs: number;
  maxSteps?: number;
  threads: number[];
}

/**
 * Trains case c on `threads` threads. Up to 3 threads, the engine plans for as many cores
 * (MLP_PARALLEL_CORES), so each thread takes part in the steps; 64 threads run on the machine's cores.
 */
/** make() with MLP_PARALLEL_CORES set to `cores` (left unset when undefined), unset again even if it throws. */
function withCores<T>(cores: number | undefined, make: () => T): T {
  if (cores !== undefined) process.env.MLP_PARALLEL_CORES = String(cores);
  try {
    return make();
  } finally {
    delete process.env.MLP_PARALLEL_CORES;
  }
}

async function run(c: Case, threads: number) {
  const { engine, loader } = withCores(threads <= 3 ? threads : undefined, () => createTrainer(c.data, { threads, hidden: c.hidden, batchSize: c.bs, seed: 5 }, arena));
  try {
    const r = await fit(engine, loader, { epochs: c.epochs, lr: 0.1, maxSteps: c.maxSteps });
    const w = engine.weights();
    return { bytes: Buffer.from(new Uint8Array(w.buffer, w.byteOffset, w.byteLength)), result: r };
  } finally {
    await engine.close();
  }
}

const cases: Case[] = [
  { name: 'bs 1', data: subset(60, 200), hidden: [50], bs: 1, epochs: 1, threads: [1, 3] },
  { name: 'the whole training split in one batch', data: subset(5000, 200), hidden: [50], bs: 5000, epochs: 3, threads: [1, 3] },
  { name: 'bs 50,000: the classic training split in one batch', data: subset(50_000, 200), hidden: [50], bs: 50_000, epochs: 1, maxSteps: 1, threads: [1, 3] },
  { name: 'a batch size that does not divide the data (last batch 100 of 300)', data: subset(1000, 200), hidden: [50], bs: 300, epochs: 2, threads: [1, 2, 3] },
  { name: 'hidden 1', data: subset(500, 100), hidden: [1], bs: 50, epochs: 1, threads: [1, 3] },
  { name: 'hidden 7', data: subset(500, 100), hidden: [7], bs: 50, epochs: 1, threads: [1, 3] },
  { name: 'hidden 513', data: subset(300, 100), hidden: [513], bs: 100, epochs: 1, threads: [1, 3] },
  { name: 'three hidden layers', data: subset(500, 100), hidden: [32, 16, 8], bs: 50, epochs: 1, threads: [1, 3] },
  { name: '64 threads on this machine', data: subset(640, 100), hidden: [50], bs: 320, epochs: 1, threads: [1, 64] },
];

describe('extremes', () => {
  for (const c of cases) {
    it(`${c.name}: identical bytes for threads ${c.threads.join(', ')}`, async () => {
      const runs = [];
      for (const t of c.threads) runs.push(await run(c, t));
      const batches = Math.ceil(c.data.train.n / c.bs);
      expect(runs[0].result.steps).toBe(Math.min(c.epochs * batches, c.maxSteps ?? Infinity));
      expect(Number.isFinite(runs[0].result.validLoss)).toBe(true);
      for (const r of runs.slice(1)) {
        expect(r.bytes.equals(runs[0].bytes)).toBe(true);
        expect(r.result.validLoss).toBe(runs[0].result.validLoss);
      }
    }, 120_000);
  }

  it('the partial last batch is a mean over its own rows', async () => {
    // One epoch of 250 rows at bs 200: steps of 200 and 50 rows; the loss the epoch reports is the
    // sample-weighted mean of the two batches.
    const data = subset(250, 100);
    const { engine, loader } = createTrainer(data, { threads: 2, batchSize: 200, seed: 1 }, arena);
    const losses: number[] = [];
    let trainLoss = NaN;
    await fit(engine, loader, { epochs: 1, lr: 0.1 }, [{ afterStep: (e) => losses.push(e.loss), afterEpoch: (e) => (trainLoss = e.trainLoss) }]);
    await engine.close();
    expect(losses).toHaveLength(2);
    expect(trainLoss).toBeCloseTo((200 * losses[0] + 50 * losses[1]) / 250, 12);
  });
});
