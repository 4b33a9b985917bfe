// `npm run bench:ab -- --baseline DIR`: this build's engine against another build of the trainer
// (DIR: that build's dist/, e.g. from a git worktree of an earlier commit), taking turns in one
// process: for each thread count and batch size, bursts of steps alternate between the two engines,
// and the figure is the median over rounds of the ratio of their times in the same round. Both
// train the same batches in data order. Prints a Markdown table, or JSON with --json.
//   git worktree add /tmp/base c2a4446 && (cd /tmp/base && npm ci && npm run build)
//   node scripts/bench-ab.mjs --baseline /tmp/base/dist --threads 1,2 --bs 50,512 --rounds 30
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median, timeBursts } from './lib/bursts.mjs';
import { inOrderTrainer } from './in-order-trainer.mjs';
import { BENCH_SGD as SGD } from './lib/settings.mjs';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    bs: { type: 'string', default: '50,512' },
    rounds: { type: 'string', default: '30' },
    burst: { type: 'string', default: '10000' },
    'warmup-seconds': { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.baseline) {
  console.error('bench-ab: --baseline: give the dist/ folder of the build to compare with');
  process.exit(2);
}
const builds = [
  { name: 'this', lib: await import(new URL('../dist/index.js', import.meta.url).href) },
  { name: 'baseline', lib: await import(pathToFileURL(resolve(values.baseline, 'index.js')).href) },
];
for (const b of builds) {
  b.arena = new b.lib.Arena();
  b.data = b.lib.loadMnist({ alloc: b.lib.arenaAllocator(b.arena) }); // each build lays out its own data (an earlier build may have no prepareTraining)
}
const rows = [];
for (const bs of values.bs.split(',').map(Number)) {
  for (const threads of values.threads.split(',').map(Number)) {
    // each build's own trainer over its own copy of MNIST, batches in data order, for ever
    const trainers = builds.map((b) => inOrderTrainer(b.data, b.arena, { threads, batchSize: bs, lib: b.lib }));
    const times = await timeBursts(trainers, { samples: Number(values.burst), bs, rounds: Number(values.rounds), warmupSeconds: Number(values['warmup-seconds']), sgd: SGD });
    const ratios = times[1].map((t, r) => t / times[0][r]); // baseline time / this time: > 1 when this build is faster
    rows.push({ bs, threads, samplesPerSecond: bs / median(times[0]), baselineSamplesPerSecond: bs / median(times[1]), speedup: median(ratios), rounds: ratios.length });
    for (const t of trainers) await t.engine.close();
  }
}
if (values.json) {
  console.log(JSON.stringify(rows));
} else {
  console.log('| bs | threads | this (samples/s, median) | baseline (samples/s, median) | this / baseline (median of paired ratios) |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.bs} | ${r.threads} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} | ${Math.round(r.baselineSamplesPerSecond).toLocaleString('en-US')} | ${r.speedup.toFixed(3)} |`);
}
