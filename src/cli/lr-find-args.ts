import yargs from 'yargs';
import { UserError } from '../errors.js';
import { LR_SWEEP_DEFAULTS } from '../train/lr-finder.js';
import { intFlag, outputFileFlag, pathFlag, positiveNumberFlag } from './flag-values.js';
import { strictParse } from './strict-parse.js';
import { THREADS_OPTION, threadsFlag } from './threads-flag.js';
import { checkOptimizer, declareRunFlags, readRunFlags, type RunSettings } from './train-args.js';

/** The run settings lr-find takes from train's flags: the model, the data, the batches and the optimizer. */
export const LR_FIND_KEYS = ['bs', 'opt', 'momentum', 'wd', 'hidden', 'seed', 'init', 'kernel', 'shuffle', 'data', 'validSplit', 'trainRows'] as const satisfies readonly (keyof RunSettings)[];

export interface LrFindArgs {
  settings: RunSettings;
  /** the settings the command line gave */
  given: Set<keyof RunSettings>;
  threads: number;
  initFrom: string | undefined;
  /** the sweep: fastai's lr_find(start_lr, end_lr, num_it) */
  startLr: number;
  endLr: number;
  numIt: number;
  plot: string | undefined;
  json: boolean;
}

const MAX_ITERATIONS = 100_000;

/** Parses and checks lr-find's command line; every bad value is a UserError, raised before any work. */
export function parseLrFindArgs(argv: string[]): LrFindArgs {
  const raw = strictParse(
    declareRunFlags(
      yargs(argv)
        .scriptName('node dist/lr-find.js')
        .usage(
          '$0 [options]\n\nfastai\'s learning-rate finder: trains a copy of the model for up to --num-it steps while the learning rate grows ' +
            'exponentially from --start-lr to --end-lr, stops once the smoothed loss passes 4 times its minimum, and suggests learning rates.',
        )
        .option('threads', THREADS_OPTION),
      LR_FIND_KEYS,
    )
      .option('init-from', { type: 'string', describe: 'start from the weights of a safetensors file (it is left as it is)' })
      .option('start-lr', { type: 'string', describe: 'the first step\'s learning rate', defaultDescription: String(LR_SWEEP_DEFAULTS.startLr) })
      .option('end-lr', { type: 'string', describe: 'the learning rate the sweep heads for', defaultDescription: String(LR_SWEEP_DEFAULTS.endLr) })
      .option('num-it', { type: 'string', describe: 'steps in the whole sweep', defaultDescription: String(LR_SWEEP_DEFAULTS.numIt) })
      .option('plot', { type: 'string', describe: 'write an SVG of the smoothed loss against the learning rate, with the suggestions marked' })
      .option('json', { type: 'boolean', describe: 'print one JSON object: the sweep and the suggestions' }),

    argv,
  );
  const { settings, given } = readRunFlags(raw, LR_FIND_KEYS);
  checkOptimizer(settings, given);
  const startLr = raw['start-lr'] === undefined ? LR_SWEEP_DEFAULTS.startLr : positiveNumberFlag('start-lr', raw['start-lr']);
  const endLr = raw['end-lr'] === undefined ? LR_SWEEP_DEFAULTS.endLr : positiveNumberFlag('end-lr', raw['end-lr']);
  if (!(endLr > startLr)) throw new UserError(`--end-lr must be above --start-lr (${startLr}), got ${endLr}`);
  return {
    settings,
    given,
    threads: threadsFlag(raw),
    initFrom: raw['init-from'] === undefined ? undefined : pathFlag('init-from', raw['init-from']),
    startLr,
    endLr,
    numIt: raw['num-it'] === undefined ? LR_SWEEP_DEFAULTS.numIt : intFlag('num-it', raw['num-it'], 1, MAX_ITERATIONS),
    plot: raw.plot === undefined ? undefined : outputFileFlag('plot', raw.plot),
    json: Boolean(raw.json),
  };
}
