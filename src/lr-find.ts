#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { hiddenOf } from './cli/init-from.js';
import { parseLrFindArgs, type LrFindArgs } from './cli/lr-find-args.js';
import { runMain } from './cli/main.js';
import { checkOutputPaths } from './cli/output-paths.js';
import { firstRows } from './data/dataset.js';
import { loadDataset } from './data/load.js';
import { Arena } from './engine/arena.js';
import { arenaAllocator } from './engine/arena-allocator.js';
import type { Engine } from './engine/engine.js';
import { atomicWrite } from './io/atomic-write.js';
import { checkpointSizes, readSafetensors, readWeights } from './io/load-weights.js';
import { adamwBetas } from './optim/adamw.js';
import { lrFindSvg } from './report/lr-find-svg.js';
import type { BatchLoader } from './train/data-loader.js';
import { LrFinder, sweepEpochs, type SweepStop } from './train/lr-finder.js';
import { suggestLrs, type LrSuggestion } from './train/lr-suggestions.js';
import { createTrainer } from './trainer.js';

/**
 * `node dist/lr-find.js`: fastai's learning-rate finder. It trains a copy of the model (from its
 * initialisation, or --init-from, which it leaves as it is) with the learning rate growing
 * exponentially each step, and reads learning rates off the smoothed loss: valley (fastai's
 * default), the minimum's over 10, and the steepest descent. Exact across thread counts like
 * training: the same batches and steps, the same bytes.
 */

/** What lr-find reports; --json prints exactly this. */
interface LrFindReport {
  sizes: number[];
  data: string;
  bs: number;
  opt: string;
  startLr: number;
  endLr: number;
  numIt: number;
  /** steps run, and why the sweep ended: diverged (the smoothed loss passed 4 times its minimum) or done */
  steps: number;
  stopped: SweepStop | null;
  /** [steps] each step's lr and the smoothed loss fastai records for it */
  lrs: number[];
  losses: number[];
  /** valley, minimum (the lowest loss's lr / 10) and steep, where the sweep allows them */
  suggestions: Partial<Record<LrSuggestion['name'], number>>;
}

async function main(): Promise<void> {
  const a = parseLrFindArgs(hideBin(process.argv));
  checkOutputPaths([{ flag: 'plot', path: a.plot }], [{ flag: 'data', path: a.settings.data }, { flag: 'init-from', path: a.initFrom }]);
  const s = a.settings;
  const startWeights = a.initFrom ? readSafetensors(a.initFrom) : null;
  const hidden = startWeights ? hiddenOf(checkpointSizes(startWeights, a.initFrom!), a.given.has('hidden') ? s.hidden : null, a.initFrom!) : s.hidden;
  const arena = new Arena();
  const all = loadDataset({ data: s.data, validSplit: s.validSplit, alloc: arenaAllocator(arena) });
  const data = firstRows(all, s.trainRows);
  const { engine, loader } = createTrainer(
    data,
    { hidden, batchSize: s.bs, seed: s.seed, init: s.init, kernel: s.kernel, threads: a.threads, shuffle: s.shuffle, momentum: s.momentum > 0, optimizer: s.opt },
    arena,
  );
  let finder: LrFinder;
  try {
    if (startWeights) engine.setWeights(readWeights(startWeights, a.initFrom!, engine.layout));
    finder = await sweep(engine, loader, a);
  } finally {
    await engine.close();
  }
  const suggested = suggestLrs(finder.lrs, finder.losses, a.numIt, ['valley', 'minimum', 'steep']);
  const report: LrFindReport = {
    sizes: engine.layout.sizes,
    data: data.source,
    bs: s.bs,
    opt: s.opt,
    startLr: a.startLr,
    endLr: a.endLr,
    numIt: a.numIt,
    steps: finder.lrs.length,
    stopped: finder.stopped,
    lrs: finder.lrs,
    losses: finder.losses,
    suggestions: Object.fromEntries(suggested.map((x) => [x.name, x.lr])),
  };
  let wrote = '';
  if (a.plot) {
    const title = `Learning-rate finder: MLP ${report.sizes.join('-')}, bs ${s.bs}, ${s.opt === 'adamw' ? 'AdamW' : 'SGD'}`;
    atomicWrite(a.plot, new TextEncoder().encode(lrFindSvg(finder.lrs, finder.losses, suggested, { title, lrRange: [a.startLr, a.endLr] })));
    wrote = `wrote the plot to ${a.plot}\n`;
  }
  if (a.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.stderr.write(wrote);
  } else {
    process.stdout.write(formatReport(report, suggested) + wrote);
  }
}

/** The sweep: one step per iteration at the finder's lr, until it says stop (or the epochs run out). */
async function sweep(engine: Engine, loader: BatchLoader, a: LrFindArgs): Promise<LrFinder> {
  const s = a.settings;
  const finder = new LrFinder({ startLr: a.startLr, endLr: a.endLr, numIt: a.numIt });
  const betas = adamwBetas(s.opt);
  const adamw = betas && { ...betas, t: 0 };
  const epochs = sweepEpochs(a.numIt, loader.length);
  for (let epoch = 1; epoch <= epochs && !finder.stopped; epoch++) {
    for (const ids of loader.epoch(epoch)) {
      if (adamw) adamw.t = finder.lrs.length + 1;
      const st = await engine.step(ids, { lr: finder.nextLr(), momentum: s.momentum, weightDecay: s.wd, adamw });
      if (finder.record(st.loss / ids.length).stop) break;
    }
  }
  return finder;
}

const lrText = (lr: number) => lr.toExponential(2);

const WHAT: Record<LrSuggestion['name'], string> = {
  valley: "fastai's default: two thirds of the way down the longest descent",
  minimum: 'the lowest loss\'s learning rate, over 10',
  steep: 'where the loss falls fastest',
};

function formatReport(r: LrFindReport, suggested: LrSuggestion[]): string {
  const why = r.stopped === 'diverged' ? 'stopped when the smoothed loss passed 4 times its minimum' : 'all steps run';
  const last = r.lrs[r.lrs.length - 1];
  const lines = [
    `lr-find: MLP ${r.sizes.join('-')} on ${r.data}, bs ${r.bs}, ${r.opt === 'adamw' ? 'AdamW' : 'SGD'}; lr from ${r.startLr} toward ${r.endLr} over ${r.numIt} steps`,
    `${r.steps} steps, the last at lr ${lrText(last)}: ${why}`,
    '',
    'suggested learning rates:',
    ...suggested.map((x) => `  ${x.name.padEnd(8)} ${lrText(x.lr)}   ${WHAT[x.name]}`),
  ];
  if (suggested.length === 0) lines.push('  none: the sweep recorded too few steps (raise --num-it)');
  return `${lines.join('\n')}\n`;
}

runMain('lr-find', main);
