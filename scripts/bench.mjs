// `npm run bench`: training throughput for threads 1, 2, 4, 8 at batch sizes 50 and 512, each a
// median of 7 repeats run side by side (the repeats interleave the configurations, so a noisy
// moment on a shared machine hits them all), with speedup, efficiency and peak RSS; the speedup
// measured again inside one process (scripts/bench-scaling.mjs); the speedup projected for 4, 8 and
// 16 dedicated cores (bench-scaling --project); and the lesson's numpy loop on the same data where
// python3 with numpy is present; what DP-SGD's clipping and noise cost over plain SGD at bs 256 on 2
// threads, side by side in one process (scripts/bench-dp.mjs). With --baseline DIR (another build's dist/), also this build
// against that one, taking turns in one process (scripts/bench-ab.mjs). Writes a JSON file and an
// SVG chart and prints Markdown tables.
//   npm run bench -- --kernel js --repeats 3 --out docs
//   npm run bench -- --baseline /tmp/base/dist
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chartSvg } from './bench-chart.mjs';
import { median } from './lib/bursts.mjs';
import { dpTableLines } from './lib/dp-table.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    kernel: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1,2,4,8' },
    bs: { type: 'string', default: '50,512' },
    repeats: { type: 'string', default: '7' },
    samples: { type: 'string', default: '100000' },
    out: { type: 'string', default: join(root, 'docs') },
    baseline: { type: 'string' },
  },
});
const threadList = values.threads.split(',').map(Number);
const bsList = values.bs.split(',').map(Number);
const repeats = Number(values.repeats);
const samples = Number(values.samples);
const stepsFor = (bs) => Math.ceil(samples / bs);
// A warm-up of half the measured steps, and of at least 2 s (bench-step.mjs): the machine's other
// load comes and goes in episodes, and a short warm-up left some runs measuring the JIT's first minutes.
const warmupFor = (bs) => String(Math.ceil(stepsFor(bs) / 2));

/** Runs scripts/`name` (e.g. 'bench-step.mjs') in a new Node process with `args`, and parses the JSON it prints. */
function runScript(name, args) {
  return JSON.parse(execFileSync(process.execPath, [join(root, 'scripts', name), ...args], { encoding: 'utf8' }));
}

function ours(threads, bs) {
  const steps = stepsFor(bs);
  return runScript('bench-step.mjs', ['--threads', String(threads), '--bs', String(bs), '--steps', String(steps), '--warmup', warmupFor(bs), '--kernel', values.kernel]);
}

/**
 * OpenBLAS settings left out of the numpy run. A forced core type (and cache size) keeps an old
 * OpenBLAS build from crashing on some processors, but makes a current one run an older kernel:
 * OPENBLAS_CORETYPE=Prescott halved the lesson's loop on an AMD EPYC (66,000 samples/s against
 * 145,000). The comparison is with numpy at its own best on this CPU.
 */
const OPENBLAS_FORCED = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];
const numpyEnvDropped = OPENBLAS_FORCED.filter((name) => process.env[name] !== undefined);
if (numpyEnvDropped.length > 0) console.error(`numpy runs without ${numpyEnvDropped.map((name) => `${name}=${process.env[name]}`).join(' and ')}, so that OpenBLAS picks its kernel for this CPU`);

function numpy(bs) {
  const steps = stepsFor(bs);
  // One core's worth of numpy: BLAS limited to one thread.
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  for (const name of OPENBLAS_FORCED) delete env[name];
  const r = spawnSync('python3', [join(root, 'scripts/numpy_mlp.py'), '--bs', String(bs), '--steps', String(steps), '--warmup', warmupFor(bs)], { encoding: 'utf8', env });
  if (r.error || r.status !== 0) return null;
  return JSON.parse(r.stdout);
}

const haveNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!haveNumpy) console.error('python3 with numpy not found: the numpy comparison is left out');

const runs = new Map(); // key -> [{samplesPerSecond, maxRssMB}]
const key = (who, threads, bs) => `${who}:${threads}:${bs}`;
for (let r = 0; r < repeats; r++) {
  for (const bs of bsList) {
    for (const t of threadList) {
      const m = ours(t, bs);
      (runs.get(key('ours', t, bs)) ?? runs.set(key('ours', t, bs), []).get(key('ours', t, bs))).push(m);
      console.error(`repeat ${r + 1}/${repeats} bs ${bs} threads ${t}: ${Math.round(m.samplesPerSecond).toLocaleString('en-US')} samples/s`);
    }
    if (haveNumpy) {
      const m = numpy(bs);
      if (m) (runs.get(key('numpy', 1, bs)) ?? runs.set(key('numpy', 1, bs), []).get(key('numpy', 1, bs))).push(m);
    }
  }
}

// The speedup again, measured inside one process (scripts/bench-scaling.mjs): engines for every
// thread count taking turns in short bursts, so each ratio compares moments milliseconds apart.
const scalingRounds = values.kernel === 'js' ? 5 : 30;
const scalingArgs = ['--threads', values.threads, '--bs', values.bs, '--kernel', values.kernel, '--json', '--burst', values.kernel === 'js' ? '500' : '10000', '--rounds', String(scalingRounds), ...(threadList[0] === 1 ? [] : ['--no-ceiling'])];
const scaling = runScript('bench-scaling.mjs', scalingArgs);

// The projection to more cores than this machine has, from costs measured here.
const projection = values.kernel === 'wasm' ? runScript('bench-scaling.mjs', ['--project', '--json', '--bs', `${[...new Set([...bsList, 128])].sort((a, b) => a - b).join(',')}`, '--threads', '2,4,8,16']) : null;

// DP-SGD's costs over plain SGD, engines taking turns in one process.
const dp = values.kernel === 'wasm' ? runScript('bench-dp.mjs', ['--threads', '2', '--bs', '256', '--rounds', '30', '--json']) : null;

// This build against another, in one process: paired ratios per thread count and batch size.
const vsBaseline = values.baseline
  ? runScript('bench-ab.mjs', ['--baseline', values.baseline, '--threads', threadList.filter((t) => t <= 2).join(','), '--bs', values.bs, '--rounds', '40', '--json'])
  : null;

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  node: process.version,
  numpy: haveNumpy ? execFileSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).trim() : null,
};
/**
 * The median over repeats of a / b, each pair from the same repeat. A repeat runs its
 * configurations back to back, so the pair shares the machine's mood of that moment: on a shared
 * machine whose speed moves by tens of percent from minute to minute, these ratios hold far better
 * than a ratio of two medians taken minutes apart.
 */
const pairedRatio = (a, b) => median(a.map((m, r) => m.samplesPerSecond / b[r].samplesPerSecond).filter(Number.isFinite));

const results = [];
for (const bs of bsList) {
  const base = runs.get(key('ours', threadList[0], bs));
  const np = runs.get(key('numpy', 1, bs));
  const numpyComplete = np && np.length === repeats;
  for (const t of threadList) {
    const ms = runs.get(key('ours', t, bs));
    const sps = median(ms.map((m) => m.samplesPerSecond));
    const speedup = pairedRatio(ms, base);
    const oneProcess = scaling.find((s) => s.bs === bs && s.threads === t);
    results.push({
      bs,
      threads: t,
      samplesPerSecond: sps,
      repeats: ms.map((m) => m.samplesPerSecond),
      speedup,
      // against the ideal: linear up to the core count, flat after
      efficiency: speedup / (Math.min(t, machine.cores) / threadList[0]),
      speedupOneProcess: oneProcess?.speedup ?? null,
      // two independent 1-thread trainers side by side, over one alone: the most 2 threads can do here
      sideBySide: oneProcess?.ceiling ?? null,
      peakRssMB: Math.max(...ms.map((m) => m.maxRssMB)),
      vsNumpy: numpyComplete ? pairedRatio(ms, np) : null,
    });
  }
  const numpySps = np ? median(np.map((m) => m.samplesPerSecond)) : null;
  if (numpySps) results.push({ bs, threads: 1, system: 'numpy', samplesPerSecond: numpySps, repeats: np.map((m) => m.samplesPerSecond) });
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  `Kernel \`${values.kernel}\`, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${machine.numpy ? `, numpy ${machine.numpy}` : ''}; median of ${repeats}, ${samples.toLocaleString('en-US')} samples a run; speedup and vs numpy are medians of the ratios within each repeat; "speedup, one process" is scripts/bench-scaling.mjs (engines taking turns in one process, median of ${scalingRounds} paired ratios); "two 1-thread trainers side by side" is, in the same process and rounds, two independent 1-thread trainers' samples/s over one alone: the most two threads can do on this machine then.`,
  '',
  '| bs | threads | samples/s | speedup | efficiency (per core used) | speedup, one process | two 1-thread trainers side by side | peak RSS (MB) | vs numpy (1 core) |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const r of results) {
  if (r.system === 'numpy') lines.push(`| ${r.bs} | 1 (numpy) | ${fmt(r.samplesPerSecond)} | | | | | | 1.00 |`);
  else lines.push(`| ${r.bs} | ${r.threads} | ${fmt(r.samplesPerSecond)} | ${r.speedup.toFixed(2)} | ${(100 * r.efficiency).toFixed(0)}% | ${r.speedupOneProcess?.toFixed(2) ?? 'n/a'} | ${r.sideBySide?.toFixed(2) ?? ''} | ${fmt(r.peakRssMB)} | ${r.vsNumpy ? r.vsNumpy.toFixed(2) : 'n/a'} |`);
}
mkdirSync(values.out, { recursive: true });
if (projection) {
  lines.push('', `Projected for dedicated cores from costs measured here (bench-scaling --project; shared word ${projection.measured.wordNs.toFixed(0)} ns):`, '', '| bs | cores | row items | slices | step (us) | samples/s | speedup (projected) |', '|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of projection.projection) lines.push(`| ${p.bs} | ${p.threads} | ${p.rowItems} | ${p.slices} | ${p.stepUs.toFixed(1)} | ${fmt(p.samplesPerSecond)} | ${p.speedup.toFixed(2)} |`);
}
if (dp) lines.push('', 'DP-SGD over plain SGD, taking turns in one process (bench-dp, median of 30 paired time ratios; the same fixed-size batches, clip 1, noise multiplier 1.1):', '', ...dpTableLines(dp));
if (vsBaseline) {
  lines.push('', `Against ${values.baseline}, taking turns in one process (bench-ab, median of 40 paired ratios):`, '', '| bs | threads | this (samples/s) | baseline (samples/s) | this / baseline |', '|---:|---:|---:|---:|---:|');
  for (const r of vsBaseline) lines.push(`| ${r.bs} | ${r.threads} | ${fmt(r.samplesPerSecond)} | ${fmt(r.baselineSamplesPerSecond)} | ${r.speedup.toFixed(3)} |`);
}
const report = lines.join('\n');
writeFileSync(join(values.out, 'benchmark.json'), `${JSON.stringify({ machine, kernel: values.kernel, repeats, samples, numpyEnvDropped, results, projection, dp, vsBaseline }, null, 2)}\n`);
const series = bsList.map((bs) => ({
  label: `bs ${bs}`,
  points: results.filter((r) => r.bs === bs && !r.system).map((r) => [r.threads, r.samplesPerSecond]),
  numpy: results.find((r) => r.bs === bs && r.system === 'numpy')?.samplesPerSecond,
}));
writeFileSync(join(values.out, 'benchmark.svg'), chartSvg(`Training throughput, kernel ${values.kernel} (${machine.cores} cores)`, series, machine.cores));
console.log(report);
