// `npm run bench:scaling`: how training speeds up with threads, measured inside one process. One
// engine per thread count over the same dataset, taking turns in short bursts of steps; each
// round times every engine once, and the figure is the median over rounds of the ratio to the
// 1-thread engine's time in the same round. On a shared machine whose speed moves by tens of
// percent from minute to minute, these paired ratios hold far better than separate runs (which
// `npm run bench` makes, for absolute figures and memory).
//
// Each round also times the 1-thread engine with a second, independent 1-thread trainer training
// beside it in another thread (scripts/side-trainer.mjs), and the two trainers' samples/s over the
// 1-thread engine's alone: the most two threads can do on this machine at that moment. Two
// threads that share nothing still slow each other where two vCPUs share a physical core, or a
// host's cache and memory; the 2-thread row reports this ceiling and its speedup as a share of it.
//   node scripts/bench-scaling.mjs --threads 1,2,8 --bs 50,512 --rounds 30 [--kernel js] [--json] [--no-ceiling]
//
// --project: instead, the speedup projected for 4, 8 and 16 dedicated cores from costs measured here
// (scripts/lib/projection.mjs), for bs 50, 128 and 512 unless --bs says otherwise:
//   node scripts/bench-scaling.mjs --project [--threads 2,4,8,16] [--bs 50,128,512] [--steps 300] [--json]
// --json prints [{bs, threads, samplesPerSecond, speedup, ceiling?, ofCeiling?, byCeiling?}] instead of
// the Markdown tables. byCeiling groups the rounds by their ceiling: what 2 threads reach when the
// machine lets two threads run at full speed side by side, and when it does not.
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import * as lib from '../dist/index.js';
import { median } from './lib/bursts.mjs';
import { sharedMnist } from './lib/mnist.mjs';
import { inOrderTrainer } from './in-order-trainer.mjs';
import { RUN, RUNNING, STEPS, WORDS } from './side-trainer.mjs';
import { BENCH_SGD as SGD } from './lib/settings.mjs';

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
    ceiling: { type: 'boolean', default: true },
    project: { type: 'boolean', default: false },
    steps: { type: 'string', default: '300' },
  },
  allowNegative: true,
});
if (values.project) {
  await printProjection();
  process.exit(0);
}
const threadList = values.threads.split(',').map(Number);
const rounds = Number(values.rounds);
/** Lower ends of the ceiling groups: below 1.7, 1.7 to 1.8, 1.8 to 1.9, 1.9 and up. */
const CEILING_BINS = [0, 1.7, 1.8, 1.9];
if (values.ceiling && threadList[0] !== 1) {
  console.error('bench-scaling: --threads: the side-by-side ceiling compares with a 1-thread engine: start --threads with 1, or give --no-ceiling');
  process.exit(2);
}

const { arena, data } = sharedMnist(lib, values.kernel);
const side = values.ceiling ? sideTrainer() : null;
const rows = [];
for (const bs of values.bs.split(',').map(Number)) {
  const steps = Math.max(1, Math.round(Number(values.burst) / bs));
  const engines = threadList.map((threads) => ({ threads, ...inOrderTrainer(data, arena, { threads, batchSize: bs, kernel: values.kernel }) }));
  /** Seconds per step of a burst on engine e. */
  const burst = async (e) => {
    const t = performance.now();
    for (let s = 0; s < steps; s++) await e.engine.step(e.nextBatch(), SGD);
    return (performance.now() - t) / 1000 / steps;
  };
  if (side) await side.start(bs);
  /** A burst of the 1-thread engine with the side trainer training beside it: [seconds per step, the side trainer's steps per second]. */
  const besideBurst = async () => {
    side.run();
    const s0 = side.steps();
    const t = performance.now();
    const perStep = await burst(engines[0]);
    const seconds = (performance.now() - t) / 1000;
    const sideStepsPerSecond = (side.steps() - s0) / seconds;
    side.sleep();
    return [perStep, sideStepsPerSecond];
  };
  const warmUntil = performance.now() + 1000 * Number(values['warmup-seconds']);
  while (performance.now() < warmUntil) {
    for (const e of engines) await burst(e);
    if (side) await besideBurst();
  }
  const times = engines.map(() => []);
  const ceilings = [];
  for (let r = 0; r < rounds; r++) {
    for (const [i, e] of engines.entries()) times[i].push(await burst(e));
    if (side) {
      // both trainers' steps per second over the 1-thread engine's alone, in this round
      const [perStep, sideStepsPerSecond] = await besideBurst();
      ceilings.push((1 / perStep + sideStepsPerSecond) * times[0][r]);
    }
  }
  for (const [i, e] of engines.entries()) {
    /** this engine's speedup over the 1-thread engine, round by round */
    const speedups = times[i].map((t, r) => times[0][r] / t);
    const row = { bs, threads: e.threads, samplesPerSecond: bs / median(times[i]), speedup: median(speedups) };
    if (side && e.threads === 2) {
      row.ceiling = median(ceilings);
      row.ofCeiling = median(speedups.map((s, r) => s / ceilings[r]));
      row.byCeiling = byCeiling(speedups, ceilings);
    }
    rows.push(row);
  }
  for (const e of engines) await e.engine.close();
  if (side) await side.stop();
}
if (side) await side.close();
if (values.json) {
  console.log(JSON.stringify(rows));
} else {
  console.log(`| bs | threads | samples/s (median) | speedup vs ${threadList[0]} thread${threadList[0] > 1 ? 's' : ''} (median of paired ratios) |${side ? ' two 1-thread trainers side by side | speedup / side by side |' : ''}`);
  console.log(`|---:|---:|---:|---:|${side ? '---:|---:|' : ''}`);
  for (const r of rows) {
    const extra = side ? (r.ceiling ? ` ${r.ceiling.toFixed(2)} | ${(100 * r.ofCeiling).toFixed(0)}% |` : ' | |') : '';
    console.log(`| ${r.bs} | ${r.threads} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} | ${r.speedup.toFixed(2)} |${extra}`);
  }
  const split = rows.filter((r) => r.byCeiling);
  if (split.length > 0) {
    console.log('\n2 threads, rounds grouped by what two independent 1-thread trainers reached in the same round:\n');
    console.log(`| bs |${split[0].byCeiling.map((g) => ` side by side ${groupName(g)} |`).join('')}`);
    console.log(`|---:|${split[0].byCeiling.map(() => '---:|').join('')}`);
    for (const r of split) {
      const cells = r.byCeiling.map((c) => (c.rounds === 0 ? ' - |' : ` ${c.speedup.toFixed(2)} (${c.rounds} round${c.rounds === 1 ? '' : 's'}) |`));
      console.log(`| ${r.bs} |${cells.join('')}`);
    }
  }
}

/** The projection (scripts/lib/projection.mjs), as a Markdown table or JSON. */
async function printProjection() {
  const { project } = await import('./lib/projection.mjs');
  const { arena, data } = sharedMnist(lib);
  const given = (name) => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const threadCounts = given('threads') ? values.threads.split(',').map(Number) : [2, 4, 8, 16];
  const batchSizes = given('bs') ? values.bs.split(',').map(Number) : [50, 128, 512];
  const libUrl = new URL('../dist/index.js', import.meta.url).href;
  const r = await project({ libUrl, data, arena, batchSizes, threadCounts, steps: Number(values.steps) });
  if (values.json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(`A projection, not a measurement: T dedicated cores, from costs measured on this machine (${availableParallelism()} cores). Shared word latency ${r.measured.wordNs.toFixed(0)} ns.`);
  for (const m of r.measured.perBatch) {
    const items = Object.entries(m.items).map(([T, x]) => `${T}: ${(x.rowsNs / 1000).toFixed(0)} + ${(x.slicesNs / 1000).toFixed(0)}`).join(', ');
    console.log(`bs ${m.bs}: serial ${(m.serialNs / 1000).toFixed(1)} us a step; reading what another core wrote adds ${(100 * m.remoteParams).toFixed(0)}% to the rows pass (parameters), ${(100 * m.remoteFactors).toFixed(0)}% to the slices pass (factors); all items at one thread, rows + slices (us), by the cut for T threads: ${items}`);
  }
  console.log('\n| bs | cores | row items | slices | rows done at (us) | slices done after that (us) | step (us) | samples/s | speedup (projected) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of r.projection) {
    console.log(`| ${p.bs} | ${p.threads} | ${p.rowItems} | ${p.slices} | ${p.rowsUs.toFixed(1)} | ${p.slicesUs.toFixed(1)} | ${p.stepUs.toFixed(1)} | ${Math.round(p.samplesPerSecond).toLocaleString('en-US')} | ${p.speedup.toFixed(2)} |`);
  }
}

/** A ceiling group's column name: "< 1.7", "1.7 to 1.8", ">= 1.9". */
function groupName({ from, to }) {
  return from === 0 ? `< ${to}` : to === null ? `>= ${from}` : `${from} to ${to}`;
}

/**
 * The 2-thread speedup of the rounds whose ceiling falls in each group: [{from, to, rounds, speedup}]
 * (speedup: their median, null without rounds). The machine's two vCPUs sometimes run at full speed
 * side by side and sometimes slow each other; this shows what the engine does in each case.
 */
function byCeiling(speedups, ceilings) {
  return CEILING_BINS.map((from, b) => {
    const to = CEILING_BINS[b + 1] ?? null;
    const inBin = speedups.filter((_, r) => ceilings[r] >= from && (to === null || ceilings[r] < to));
    return { from, to, rounds: inBin.length, speedup: inBin.length > 0 ? median(inBin) : null };
  });
}

/** The side trainer (scripts/side-trainer.mjs) in a worker thread, driven through shared words. */
function sideTrainer() {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * WORDS));
  const worker = new Worker(new URL('./side-trainer.mjs', import.meta.url), { workerData: { ctl, kernel: values.kernel } });
  let failure = null;
  worker.on('error', (e) => (failure = e));
  const reply = () =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const set = (v) => {
    Atomics.store(ctl, RUN, v);
    Atomics.notify(ctl, RUN);
  };
  return {
    /** A new 1-thread trainer at batch size bs, asleep. */
    async start(bs) {
      Atomics.store(ctl, RUN, 0);
      const ready = reply();
      worker.postMessage(bs);
      await ready;
    },
    /** Wakes it and returns once it is training. */
    run() {
      set(1);
      const until = performance.now() + 10_000;
      while (Atomics.load(ctl, RUNNING) === 0) {
        if (failure || performance.now() > until) throw new Error(`the side trainer did not start: ${failure?.message ?? 'timed out'}`);
      }
    },
    sleep: () => set(0),
    steps: () => Atomics.load(ctl, STEPS),
    /** Closes its trainer (it then waits for the next start). */
    async stop() {
      const left = reply();
      set(-1);
      await left;
    },
    close: () => worker.terminate(),
  };
}
