// `npm run bench:dp`: what DP-SGD costs over plain SGD, measured side by side in one process. Three
// engines over the same data take turns in bursts of steps (scripts/lib/bursts.mjs): plain SGD,
// per-sample clipping (--clip), and clipping with Gaussian noise (--clip --noise). Each figure is
// the median over rounds of a time ratio within one round. All three train the same fixed-size
// batches in data order, so the ratios are the per-step cost of clipping and of the noise alone
// (Poisson sampling only changes which rows a batch holds). Prints a Markdown table, or JSON.
//   node scripts/bench-dp.mjs --threads 2 --bs 256 --rounds 30
import { parseArgs } from 'node:util';
import { median, timeBursts } from './lib/bursts.mjs';
import { dpTableLines } from './lib/dp-table.mjs';
import { sharedMnist } from './lib/mnist.mjs';
import { inOrderTrainer } from './in-order-trainer.mjs';
import { BENCH_SGD as SGD } from './lib/settings.mjs';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    bs: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '30' },
    burst: { type: 'string', default: '20000' },
    'warmup-seconds': { type: 'string', default: '3' },
    hidden: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
});
const lib = await import(new URL('../dist/index.js', import.meta.url).href);
const { arena, data } = sharedMnist(lib);
const hidden = values.hidden.split(',').map(Number);
// Opacus-like settings: clip 1, noise multiplier 1.1, divided by the expected batch size
const modes = [
  { name: 'sgd', options: () => SGD },
  { name: 'clip', options: () => ({ ...SGD, clip: 1 }) },
  { name: 'clip+noise', noise: true },
];

const rows = [];
for (const bs of values.bs.split(',').map(Number)) {
  for (const threads of values.threads.split(',').map(Number)) {
    const trainers = modes.map((m) => {
      const { engine, nextBatch } = inOrderTrainer(data, arena, { threads, batchSize: bs, hidden, lib });
      let step = 0;
      const noisy = () => ({ ...SGD, clip: 1, noiseStd: 1.1, noiseSeed: 7, noiseStep: step++, meanOver: bs });
      return { engine, nextBatch, stepOptions: m.noise ? noisy : m.options };
    });
    const times = await timeBursts(trainers, { samples: Number(values.burst), bs, rounds: Number(values.rounds), warmupSeconds: Number(values['warmup-seconds']), sgd: SGD });
    const over = (i) => median(times[i].map((t, r) => t / times[0][r]));
    rows.push({
      bs,
      threads,
      hidden,
      samplesPerSecond: Object.fromEntries(modes.map((m, i) => [m.name, bs / median(times[i])])),
      clipOverSgd: over(1),
      noiseOverSgd: over(2),
      rounds: times[0].length,
    });
    for (const t of trainers) await t.engine.close();
  }
}
if (values.json) {
  console.log(JSON.stringify(rows));
} else {
  console.log(dpTableLines(rows).join('\n'));
}
