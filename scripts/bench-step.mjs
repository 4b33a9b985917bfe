// One benchmark measurement in a fresh process: train `steps` steps after `warmup` steps and print
// {samplesPerSecond, maxRssMB} as JSON. Run by scripts/bench.mjs; usable alone:
//   node scripts/bench-step.mjs --threads 2 --bs 50 --steps 2000 --warmup 200 --warmup-seconds 2 --kernel js
import { parseArgs } from 'node:util';
import * as lib from '../dist/index.js';
import { sharedMnist } from './lib/mnist.mjs';
import { inOrderTrainer } from './in-order-trainer.mjs';
import { NUMPY_SGD as SGD } from './lib/settings.mjs';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    bs: { type: 'string', default: '50' },
    steps: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '100' },
    'warmup-seconds': { type: 'string', default: '2' },
    kernel: { type: 'string', default: 'wasm' },
  },
});
const threads = Number(values.threads);
const bs = Number(values.bs);
const steps = Number(values.steps);
const warmup = Number(values.warmup);

const { arena, data } = sharedMnist(lib, values.kernel);
const { engine, nextBatch } = inOrderTrainer(data, arena, { threads, batchSize: bs, kernel: values.kernel });

// Warm up for `warmup` steps and at least `warmup-seconds`: V8 keeps optimising JavaScript on its
// helper threads for about a second after the workers start, and with every core busy training
// those compilations take turns with the trainer's threads.
const warmupUntil = performance.now() + 1000 * Number(values['warmup-seconds']);
for (let i = 0; i < warmup || performance.now() < warmupUntil; i++) await engine.step(nextBatch(), SGD);
const t0 = performance.now();
let samples = 0;
for (let i = 0; i < steps; i++) {
  const ids = nextBatch();
  await engine.step(ids, SGD);
  samples += ids.length;
}
const seconds = (performance.now() - t0) / 1000;
await engine.close();
process.stdout.write(`${JSON.stringify({ samplesPerSecond: samples / seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
