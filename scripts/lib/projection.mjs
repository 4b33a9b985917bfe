// The scaling projection of `npm run bench:scaling -- --project`: what a step would take on T
// dedicated cores, built from costs measured on this machine.
//
// Measured here:
//   - each work item's time at one thread, for the cut the engine makes for T threads: every row item
//     and every slice, timed alone (median over many steps);
//   - the engine's own serial time per step (publishing it, summing the losses), at one thread;
//   - the latency of a shared word between two spinning threads (a phase barrier, a step's wake-up,
//     a claimed item's counter moving between cores);
//   - what it costs a pass to read data another core has just written, with two threads: the rows
//     pass re-reading parameters the other core's slices just updated, and the slices pass reading
//     factors the other core's rows just wrote. A projection from one-thread item times alone would
//     leave these out and flatter the result.
// Projected: T threads claiming the items in order, each item going to the thread free first, every
// item slowed by the remote-read share ((T - 1) / T of what it reads was written elsewhere) and
// paying a claim. As in the engine, a thread that finds no row item left starts on the slices, and a
// slice goes through the batch row item by row item, never ahead of the item's end; the step ends
// one word-latency after its last slice, and adds the serial time. It assumes T dedicated cores that
// do not slow each other (no shared cache or memory bandwidth limit), which real machines only
// approach.
import { Worker } from 'node:worker_threads';
import { median } from './bursts.mjs';
import { STILL_UPDATE } from './settings.mjs';
import { initWeights } from './weights.mjs';


/**
 * Measures and projects. `libUrl` is the URL of the trainer's dist/index.js, `data` MNIST with its
 * training split prepared for the wasm kernel, in `arena`.
 */
export async function project({ libUrl, data, arena, batchSizes, threadCounts, steps }) {
  const lib = { ...(await import(libUrl)), url: libUrl };
  const wordNs = await wordLatency();
  const rows = [];
  const measured = { wordNs, perBatch: [] };
  for (const bs of batchSizes) {
    const remote = await remoteReads(lib, data, arena, bs, steps);
    const serialNs = await engineSerial(lib, data, arena, steps, bs);
    const per = { bs, serialNs, ...remote, items: {} };
    measured.perBatch.push(per);
    const plans = itemTimes(lib, data, arena, bs, [1, ...threadCounts], steps);
    const one = simulate(plans.get(1), 1, per, wordNs);
    for (const T of threadCounts) {
      const p = plans.get(T);
      const sim = simulate(p, T, per, wordNs);
      per.items[T] = { rowItems: p.rows.length, slices: p.slices.length, rowsNs: sum(p.rows), slicesNs: sum(p.slices) };
      rows.push({ bs, threads: T, rowItems: p.rows.length, slices: p.slices.length, stepUs: sim.step / 1000, rowsUs: sim.rows / 1000, slicesUs: sim.slices / 1000, samplesPerSecond: (bs * 1e9) / sim.step, speedup: one.step / sim.step });
    }
  }
  return { measured, projection: rows };
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/**
 * One step on T threads. Row items are claimed in order by the thread free first (the coordinator
 * starts at once, the others one word-latency later, when they see the step); then the slices,
 * costliest first, each going through the row items in order at its own pace but never past the end
 * of an item not yet done. Every item is slowed by the share of its reads another core wrote, and
 * pays a claim. Returns the times (ns) the rows end, the slices end, and the step.
 */
function simulate(plan, T, costs, wordNs) {
  const remote = (T - 1) / T;
  const claimNs = T > 1 ? wordNs : 0;
  const free = Array.from({ length: T }, (_, t) => (t === 0 ? 0 : wordNs));
  const earliest = () => {
    let t = 0;
    for (let i = 1; i < T; i++) if (free[i] < free[t]) t = i;
    return t;
  };
  const rowEnd = plan.rows.map((ns) => {
    const t = earliest();
    free[t] += ns * (1 + costs.remoteParams * remote) + claimNs;
    return free[t] + (T > 1 ? wordNs : 0); // when another thread sees the item's rows marked ready
  });
  const rows = Math.max(...rowEnd);
  const share = plan.rowShare; // each row item's share of the batch's rows
  for (const ns of plan.slices) {
    const t = earliest();
    const work = ns * (1 + costs.remoteFactors * remote);
    let at = free[t] + claimNs;
    for (let c = 0; c < rowEnd.length; c++) at = Math.max(at, rowEnd[c]) + work * share[c];
    free[t] = at;
  }
  const slices = Math.max(...free) + (T > 1 ? wordNs : 0);
  return { rows, slices: slices - rows, step: costs.serialNs + slices };
}

/**
 * Median times (ns) of every row item and slice of the cut for each thread count, each timed alone
 * at one thread: a Map from T to {rows, slices}. The cuts take turns step by step, so that the
 * machine's speed, which drifts from second to second, weighs on all of them alike.
 */
function itemTimes(lib, data, arena, bs, threadCounts, steps) {
  const timer = timerCost();
  const cuts = threadCounts.map((T) => {
    const state = lib.SharedState.create(arena, data, { sizes: [784, 50, 10], batchSize: bs, kernel: 'wasm', threads: 1, planThreads: T });
    initWeights(lib, state, 0); // Kaiming weights, as the trainer starts (the item times do not depend on them much, but NaNs would)
    const nRows = lib.rowItemCount(bs, T);
    return { T, state, k: state.kernel(0), nRows, rowT: Array.from({ length: nRows }, () => []), sliceT: state.plan.slices.map(() => []) };
  });
  let at = 0;
  for (let step = 0; step < steps; step++) {
    let next;
    for (const c of cuts) {
      next = nextBatch(c.state.batch, bs, at, data.train.n);
      for (let i = 0; i < c.nRows; i++) {
        const lo = lib.itemStart(bs, c.nRows, i);
        const hi = lib.itemStart(bs, c.nRows, i + 1);
        const t = performance.now();
        c.k.trainRows(lo, hi, step + 1);
        c.rowT[i].push((performance.now() - t) * 1e6 - timer);
      }
      for (let s = 0; s < c.sliceT.length; s++) {
        const t = performance.now();
        c.k.updateSlice(s, bs, STILL_UPDATE, step + 1);
        c.sliceT[s].push((performance.now() - t) * 1e6 - timer);
      }
    }
    at = next;
  }
  const share = (n) => Array.from({ length: n }, (_, i) => (lib.itemStart(bs, n, i + 1) - lib.itemStart(bs, n, i)) / bs);
  return new Map(cuts.map((c) => [c.T, { rows: c.rowT.map(median), slices: c.sliceT.map(median), rowShare: share(c.nRows) }]));
}

/** The batch of bs rows in data order from `at`, wrapping; returns where the next starts. */
function nextBatch(batch, bs, at, n) {
  for (let r = 0; r < bs; r++) batch[r] = (at + r) % n;
  return (at + bs) % n;
}

/** What one performance.now() pair costs, in ns. */
function timerCost() {
  const xs = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    xs.push((performance.now() - t) * 1e6);
  }
  return median(xs);
}

/**
 * The engine's time per step beyond its kernel calls, at one thread: bursts of engine steps against
 * the same passes called directly, on a batch of one row (the difference is then not lost in the
 * noise of a long step), plus what the engine does per row (copying the ids, adding the losses).
 */
async function engineSerial(lib, data, arena, steps, batchRows) {
  const bs = 1;
  const { engine, loader } = lib.createTrainer(data, { threads: 1, batchSize: bs, shuffle: false }, arena);
  const state = engine.state;
  const k = state.kernel(0);
  const ids = loader.epoch().next().value;
  const nRows = lib.rowItemCount(bs, 1);
  const S = state.plan.slices.length;
  let step = 1 << 30; // step numbers of their own, apart from the engine's
  const direct = () => {
    step++;
    for (let c = 0; c < nRows; c++) k.trainRows(lib.itemStart(bs, nRows, c), lib.itemStart(bs, nRows, c + 1), step);
    for (let s = 0; s < S; s++) k.updateSlice(s, bs, STILL_UPDATE, step);
  };
  const diffs = [];
  const reps = 20;
  for (let round = 0; round < Math.max(100, steps); round++) {
    let t = performance.now();
    for (let i = 0; i < reps; i++) await engine.step(ids, STILL_UPDATE);
    const viaEngine = (performance.now() - t) / reps;
    state.batch.set(ids);
    t = performance.now();
    for (let i = 0; i < reps; i++) direct();
    diffs.push((viaEngine - (performance.now() - t) / reps) * 1e6);
  }
  await engine.close();
  return Math.max(0, median(diffs)) + perRowSerial(batchRows);
}

/** What the engine does per batch row on its own thread, in ns for batchRows rows: the ids copied in, the losses and counts added up. */
function perRowSerial(batchRows) {
  const ids = new Int32Array(batchRows);
  const into = new Int32Array(batchRows);
  const loss = new Float64Array(batchRows).fill(0.1);
  const correct = new Int32Array(batchRows).fill(1);
  const xs = [];
  let sink = 0;
  for (let round = 0; round < 200; round++) {
    const t = performance.now();
    for (let rep = 0; rep < 20; rep++) {
      into.set(ids);
      for (let r = 0; r < batchRows; r++) sink += loss[r] + correct[r];
    }
    xs.push(((performance.now() - t) * 1e6) / 20);
  }
  return sink > 0 ? median(xs) : 0;
}

/** A worker thread on the same shared state, told what to do through a shared word. */
function helper(lib, state) {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const code = `
    import { workerData } from 'node:worker_threads';
    const { SharedState } = await import(workerData.lib);
    const state = SharedState.attach(workerData.setup);
    const k = state.kernel(1);
    const ctl = workerData.ctl;
    const bs = workerData.bs;
    const still = ${JSON.stringify(STILL_UPDATE)}; // this code runs in its own worker: the settings go in as text
    for (;;) {
      Atomics.wait(ctl, 0, 0);
      const cmd = Atomics.load(ctl, 0);
      if (cmd === 3) break;
      if (cmd === 1) k.trainRows(0, bs, 1);
      if (cmd === 2) for (let s = 0; s < state.plan.slices.length; s++) k.updateSlice(s, bs, still, 1);
      Atomics.store(ctl, 0, 0);
      Atomics.notify(ctl, 0);
    }`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: { lib: lib.url, setup: state.setup, ctl, bs: state.batch.length } });
  return {
    /** 1: the rows pass, 2: the slices pass, on the helper thread; returns when done */
    run(cmd) {
      Atomics.store(ctl, 0, cmd);
      Atomics.notify(ctl, 0);
      while (Atomics.load(ctl, 0) !== 0) Atomics.wait(ctl, 0, cmd, 1000);
    },
    close() {
      Atomics.store(ctl, 0, 3);
      Atomics.notify(ctl, 0);
      return worker.terminate();
    },
  };
}

/**
 * What reading data another core has just written adds to a pass, with two threads: the rows pass
 * after the slices pass ran on the other thread (every parameter written there) against after it ran
 * here, and the slices pass after the rows pass ran there (every factor written there) against here.
 * Conditions alternate, so a drift of the machine's speed hits both.
 */
async function remoteReads(lib, data, arena, bs, steps) {
  const state = lib.SharedState.create(arena, data, { sizes: [784, 50, 10], batchSize: bs, kernel: 'wasm', threads: 2, planThreads: 2 });
  initWeights(lib, state, 0);
  nextBatch(state.batch, bs, 0, data.train.n);
  const k = state.kernel(0);
  const other = helper(lib, state);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const rowsHere = () => k.trainRows(0, bs, 1);
  const slicesHere = () => {
    for (let s = 0; s < state.plan.slices.length; s++) k.updateSlice(s, bs, STILL_UPDATE, 1);
  };
  const timed = (f) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  const t = { rowsLocal: [], rowsRemote: [], slicesLocal: [], slicesRemote: [] };
  const reps = Math.max(200, steps);
  for (let i = 0; i < reps; i++) {
    slicesHere();
    t.rowsLocal.push(timed(rowsHere));
    other.run(2);
    t.rowsRemote.push(timed(rowsHere));
    rowsHere();
    t.slicesLocal.push(timed(slicesHere));
    other.run(1);
    t.slicesRemote.push(timed(slicesHere));
  }
  await other.close();
  const m = Object.fromEntries(Object.entries(t).map(([key, xs]) => [key, median(xs.slice(5))]));
  return { remoteParams: Math.max(0, m.rowsRemote / m.rowsLocal - 1), remoteFactors: Math.max(0, m.slicesRemote / m.slicesLocal - 1) };
}

/** One-way latency (ns) of a shared word between two spinning threads: half a ping-pong round trip. */
async function wordLatency() {
  const ctl = new Int32Array(new SharedArrayBuffer(64));
  const rounds = 20000;
  const code = `
    import { workerData } from 'node:worker_threads';
    const ctl = workerData.ctl;
    for (let i = 1; i <= workerData.rounds; i++) {
      while (Atomics.load(ctl, 0) !== i) {}
      Atomics.store(ctl, 0, -i);
    }`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: { ctl, rounds } });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const per = [];
  for (let i = 1, t = performance.now(); i <= rounds; i++) {
    Atomics.store(ctl, 0, i);
    while (Atomics.load(ctl, 0) !== -i) {}
    if (i % 1000 === 0) {
      const now = performance.now();
      per.push(((now - t) * 1e6) / 1000 / 2);
      t = now;
    }
  }
  await worker.terminate();
  return median(per);
}
