#!/usr/bin/env node
import { resolve } from 'node:path';
import { hideBin } from 'yargs/helpers';
import { runMain } from './cli/main.js';
import { jsonReporter, progressBar, textReporter } from './cli/reporters.js';
import { stopOnSignals, type StopSignals } from './cli/signals.js';
import { checkPrivacySettings, checkWarmup, parseTrainArgs, type RunSettings, type TrainArgs } from './cli/train-args.js';
import { firstRows, type Dataset } from './data/dataset.js';
import { loadDataset } from './data/load.js';
import { Arena } from './engine/arena.js';
import { arenaAllocator } from './engine/arena-allocator.js';
import type { Engine } from './engine/engine.js';
import { UserError } from './errors.js';
import { checkpointSizes, readSafetensors, readWeights } from './io/load-weights.js';
import { mlpSizes } from './model/layout.js';
import { loadCheckpointTensors, readCheckpoint, saveCheckpoint } from './train/checkpoint.js';
import { fit, type Callback, type FitProgress, type PrivacyOptions } from './train/fit.js';
import { epsilonAfter, noiseMultiplierFor } from './privacy/rdp.js';
import type { BatchLoader } from './train/data-loader.js';
import { metricsLog } from './report/metrics-log.js';
import { lossPlot } from './report/plot-callback.js';
import { createTrainer } from './trainer.js';
import { hiddenOf } from './cli/init-from.js';
import { checkOutputPaths } from './cli/output-paths.js';
import { keepGoingWhenStdoutCloses } from './cli/stdout.js';
import { adamwBetas } from './optim/adamw.js';
import { runSchedule } from './optim/schedule.js';
import { pickRunSettings } from './train/run-settings.js';

/** `node dist/train.js`: train the MLP and report each epoch. */
async function main(): Promise<void> {
  const { args: cli, given } = parseTrainArgs(hideBin(process.argv));
  // with a checkpoint to write, a closed stdout does not end the run (stdout.ts)
  if (cli.save) keepGoingWhenStdoutCloses();
  await run(cli, given);
}

async function run(cli: TrainArgs, given: Set<keyof RunSettings>): Promise<void> {
  checkOutputPaths(
    [{ flag: 'save', path: cli.save }, { flag: 'log', path: cli.log }, { flag: 'plot', path: cli.plot }],
    [{ flag: 'data', path: cli.data }, { flag: 'resume', path: cli.resume }, { flag: 'init-from', path: cli.initFrom }],
    [['save', 'resume']],
  );
  const resumed = cli.resume ? readCheckpoint<RunSettings>(cli.resume) : null;
  const startWeights = cli.initFrom ? readSafetensors(cli.initFrom) : null;
  // A resumed run keeps its recorded settings, except those the command line gives again.
  const args: TrainArgs = resumed ? { ...cli, ...resumed.settings, ...pick(cli, given) } : cli;
  if (resumed) checkResumed(args, resumed.settings, given, cli.resume!);
  if (startWeights) args.hidden = hiddenOf(checkpointSizes(startWeights, cli.initFrom!), given.has('hidden') ? args.hidden : null, cli.initFrom!);

  const arena = new Arena();
  const data = firstRows(loadDataset({ data: args.data, validSplit: args.validSplit, alloc: arenaAllocator(arena) }), args.trainRows, args.validRows);
  const sizes = mlpSizes(data.nIn, args.hidden, data.nClasses);
  if (resumed && sizes.join() !== resumed.sizes.join()) {
    const cause = given.has('hidden') ? 'this data and --hidden make' : 'this data makes';
    throw new UserError(`--resume ${cli.resume}: the checkpoint is a ${resumed.sizes.join('-')} model, ${cause} ${sizes.join('-')}`);
  }
  // Settings that depend on the data's size are checked and chosen before any thread starts.
  const plannedSteps = args.epochs * Math.ceil(data.train.n / Math.min(args.bs, data.train.n));
  checkWarmup(args, plannedSteps);
  // --target-epsilon: the noise multiplier that spends that ε over the planned run (once: a resumed run keeps it)
  if (args.targetEpsilon !== undefined && !(args.noise > 0)) {
    const steps = args.steps ?? plannedSteps;
    args.noise = noiseMultiplierFor(args.targetEpsilon, args.delta, Math.min(args.bs, data.train.n) / data.train.n, steps);
  }
  const { engine, loader } = createTrainer(
    data,
    { hidden: args.hidden, batchSize: args.bs, seed: args.seed, init: args.init, kernel: args.kernel, threads: args.threads, shuffle: args.shuffle, momentum: args.momentum > 0, optimizer: args.opt, sampling: args.sampling },
    arena,
  );
  // Until training starts, Ctrl-C and SIGTERM keep their default action: loading has nothing to
  // save, and ends at once. From here on the first asks for a stop after the step in progress.
  const signals = stopOnSignals((signal) => process.stderr.write(`\n${signal}: stopping after this step (again to quit at once)\n`));
  try {
    if (resumed) loadCheckpointTensors(resumed, engine);
    if (startWeights) engine.setWeights(readWeights(startWeights, cli.initFrom!, engine.layout));
    await train(engine, loader, data, args, resumed?.progress, signals);
  } finally {
    signals.dispose();
    await engine.close();
  }
}

async function train(
  engine: Engine,
  loader: BatchLoader,
  data: Dataset,
  args: TrainArgs,
  start: FitProgress | undefined,
  signals: StopSignals,
): Promise<void> {
  const out = (s: string) => process.stdout.write(s);
  const note = (s: string) => (args.json ? process.stderr : process.stdout).write(s);
  const settings: RunSettings = { ...pickRunSettings(args), data: args.data && resolve(args.data) };
  const privacy = privacyOptions(args, data.train.n);
  const spent = (steps: number) => (args.noise > 0 ? { epsilon: epsilonAfter(privacy.sampleRate!, args.noise, steps, args.delta), delta: args.delta } : undefined);
  const save = (progress: FitProgress) => args.save && saveCheckpoint(args.save, engine, { sizes: engine.layout.sizes, settings, progress, privacy: spent(progress.steps) });

  const callbacks: Callback[] = [];
  if (process.stderr.isTTY) callbacks.push(progressBar(process.stderr));
  callbacks.push(args.json ? jsonReporter(out) : textReporter(out));
  if (args.plot) callbacks.push(lossPlot(args.plot));
  if (args.log) callbacks.push(metricsLog(args.log, { batchSize: args.bs, every: args.logEvery }));
  if (args.checkpointEvery) {
    const every = args.checkpointEvery;
    callbacks.push({ afterEpoch: (e, p) => e.epoch % every === 0 && p.batch === 0 && save(p) });
  }
  if (!args.json) {
    out(
      `MLP ${engine.layout.sizes.join('-')} on ${data.source}: ${data.train.n.toLocaleString('en-US')} train / ` +
        `${data.valid.n.toLocaleString('en-US')} valid; bs ${args.bs}, ${optimizerDescription(args)}, ${args.threads} threads, kernel ${args.kernel}` +
        `${dpDescription(args, privacy)}${start ? `; resumed at epoch ${start.epoch}, step ${start.steps}` : ''}\n`,
    );
  }
  let progress: FitProgress | undefined;
  const result = await fit(
      engine,
      loader,
      {
        epochs: args.epochs,
        lr: args.lr,
        schedule: runSchedule(args, args.epochs * loader.length),
        momentum: args.momentum,
        weightDecay: args.wd,
        adamw: adamwBetas(args.opt),
        maxSteps: args.steps,
        start,
        shouldStop: () => signals.received !== null,
        privacy,
      },
      [...callbacks, { afterFit: (_r, p) => (progress = p) }],
    );
  if (args.save && progress) {
    save(progress);
    note(`saved checkpoint to ${args.save}${result.interrupted ? ` (epoch ${progress.epoch}, step ${progress.steps}; --resume it to go on)` : ''}\n`);
  }
  if (result.interrupted) process.exitCode = signals.exitCode;
}

/** The header's words for the optimizer and the schedule: "lr 0.2", "AdamW, lr 0.01 (onecycle), wd 0.01". */
function optimizerDescription(a: RunSettings): string {
  const lr = `lr ${a.lr}${a.schedule === 'constant' ? '' : ` (${a.schedule}${a.warmup ? `, warmup ${a.warmup}` : ''})`}`;
  const parts = a.opt === 'adamw' ? ['AdamW', lr, `wd ${a.wd}`] : [lr, ...(a.momentum ? [`momentum ${a.momentum}`] : []), ...(a.wd ? [`wd ${a.wd}`] : [])];
  return parts.join(', ');
}

/** A resumed run's merged settings must still go together, and its optimizer (whose state the checkpoint holds) cannot change. */
function checkResumed(args: TrainArgs, recorded: RunSettings, given: Set<keyof RunSettings>, file: string): void {
  checkPrivacySettings(args);
  const was = recorded.opt;
  if (given.has('opt') && args.opt !== was) throw new UserError(`--resume ${file}: the run trained with --opt ${was}; its optimizer state cannot go on as --opt ${args.opt}`);
  if (args.opt === 'adamw' && args.momentum !== 0) throw new UserError("--momentum is SGD's: AdamW's first moment uses beta1");
}

/**
 * What DP-SGD the run does. Under Poisson sampling the summed gradient is divided by the expected
 * batch size q n, as Opacus does, whether or not noise is added; the noise's seed is the run's.
 */
function privacyOptions(a: TrainArgs, n: number): PrivacyOptions {
  const sampleRate = Math.min(a.bs, n) / n;
  return { clip: a.clip, noise: a.noise, seed: a.seed, sampleRate, delta: a.delta, meanOver: a.sampling === 'poisson' ? sampleRate * n : undefined };
}

/** The header's words for DP-SGD, or nothing. */
function dpDescription(a: TrainArgs, p: PrivacyOptions): string {
  const parts = [];
  if (a.sampling === 'poisson') parts.push(`Poisson sampling (q ${p.sampleRate!.toPrecision(3)})`);
  if (a.clip > 0) parts.push(`clip ${a.clip}`);
  if (a.noise > 0) parts.push(`noise ${+a.noise.toPrecision(4)}${a.targetEpsilon !== undefined ? ` (for ε ${a.targetEpsilon})` : ''}, δ ${a.delta}`);
  return parts.length ? `; DP-SGD: ${parts.join(', ')}` : '';
}

function pick(a: TrainArgs, keys: Set<keyof RunSettings>): Partial<RunSettings> {
  return Object.fromEntries([...keys].map((k) => [k, a[k]]));
}

runMain('train', main);
