// `npm run bench:scaling`: how training speeds up with threads, measured inside one process. One
// engine per thread count over the same dataset, taking turns in short bursts of steps; each
// round times every engine once, and the figure is the median over rounds of the ratio to the
// 1-thread engine's time in the same round. On a shared machine whose speed moves by tens of
// percent from minute to minute, these paired ratios hold far better than separate runs (which
// `npm run bench` makes, for absolute figures and memory).
//   node scripts/bench-scaling.mjs --threads 1,2,8 --bs 50,512 --rounds 30 [--kernel js] [--json]
// --json prints [{bs, threads, samplesPerSecond, speedup}] instead of the Markdown table.
import { parseArgs } from 'node:util';
import { Arena, arenaAllocator, createTrainer, loadMnist } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2,8' },
    bs: { type: 'string', default: '50,512' },
    rounds: { type: 'string', default: '30' },
    /** samples per engine per round */
    burst: { type: 'string', default: '10000' },
    'warmup-seconds': { type: 'string', default: '3' },
    kernel: { type: 'string', default: 'wasm' },
    json: { type: 'boolean', default: false },
  },
});
const threadList = values.threads.split(',').map(Number);
const rounds = Number(values.rounds);
const SGD = { lr: 0.05, momentum: 0, weightDecay: 0 };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const arena = new Arena();
const data = loadMnist({ alloc: arenaAllocator(arena) });
const rows = [];
for (const bs of values.bs.split(',').map(Number)) {
  const steps = Math.max(1, Math.round(Number(values.burst) / bs));
  const engines = threadList.map((threads) => {
    const { engine, loader } = createTrainer(data, { threads, batchSize: bs, shuffle: false, kernel: values.kernel }, arena);
    // batches in data order, wrapping around: the same work for every engine
    const batches = (function* () {
      for (;;) yield* loader.epoch();
    })();
    return { threads, engine, batches };
  });
  /** Seconds per step of a burst on engine e. */
  const burst = async (e) => {
    const t = performance.now();
    for (let s = 0; s < steps; s++) await e.engine.step(e.batches.next().value, SGD);
    return (performance.now() - t) / 1000 / steps;
  };
  const warmUntil = performance.now() + 1000 * Number(values['warmup-seconds']);
  while (performance.now() < warmUntil) for (const e of engines) await burst(e);
  const times = engines.map(() => []);
  for (let r = 0; r < rounds; r++) for (const [i, e] of engines.entries()) times[i].push(await burst(e));
  for (const [i, e] of engines.entries()) {
    rows.push({ bs, threads: e.threads, samplesPerSecond: bs / median(times[i]), speedup: median(times[i].map((t, r) => times[0][r] / t)) });
  }
  for (const e of engines) await e.engine.close();
}
if (values.json) {
  console.log(JSON.stringify(rows));
} else {
  console.log(`| bs | threads | samples/s (median) | speedup vs ${threadList[0]} thread${threadList[0] > 1 ? 's' : ''} (median of paired ratios) |`);
  console.log(`|---:|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r.bs} | ${r.threads} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} | ${r.speedup.toFixed(2)} |`);
}
