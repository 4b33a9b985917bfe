import { DEFAULTS, SAMPLINGS, SETTING_KEYS, type RunSettings } from './run-settings.js';
import { VALID_SPLITS } from '../data/idx-folder.js';
import { DataError } from '../errors.js';
import { KERNEL_NAMES } from '../kernels/kernel.js';
import { INIT_SCHEMES } from '../model/init.js';
import { OPTIMIZERS } from '../optim/adamw.js';
import { SCHEDULES } from '../optim/schedule.js';
import { RecordedFields } from './recorded-fields.js';


/**
 * A checkpoint's recorded settings (the JSON text of its `settings` metadata), each field checked by
 * type and range as its flag would be, and against the others and the model's layer sizes. Fields
 * added after the first checkpoints (DP-SGD's, the optimizer's and the schedule's) take their
 * defaults when absent, which is what those runs did. Any problem is a DataError naming the file and
 * the field: "its recorded settings are not valid: bs must be an integer >= 1, got 0".
 */
export function recordedSettings(text: string, file: string, sizes: readonly number[]): RunSettings {
  const fail = (problem: string) => new DataError(file, `its recorded settings are not valid: ${problem}`);
  const f = RecordedFields.parse(text, fail, 'they are not JSON', SETTING_KEYS);
  const positive = (key: string) => f.number(key, 'a positive number', { above: 0 });
  const nonNegative = (key: string) => f.number(key, 'a number >= 0', { min: 0 });
  const s: RunSettings = {
    epochs: f.int('epochs', 1),
    bs: f.int('bs', 1),
    lr: positive('lr'),
    momentum: f.number('momentum', 'a number from 0 to 1', { min: 0, max: 1 }),
    wd: nonNegative('wd'),
    hidden: f.intList('hidden', 1, 1),
    seed: f.int('seed', 0, 0xffffffff),
    init: f.choice('init', INIT_SCHEMES),
    kernel: f.choice('kernel', KERNEL_NAMES),
    shuffle: f.bool('shuffle'),
    data: f.orElse('data', (k) => f.text(k, 'a file or folder path'), undefined),
    validSplit: f.choice('validSplit', VALID_SPLITS),
    trainRows: f.orElse('trainRows', (k) => f.int(k, 1), undefined),
    validRows: f.orElse('validRows', (k) => f.int(k, 1), undefined),
    clip: f.orElse('clip', nonNegative, DEFAULTS.clip),
    noise: f.orElse('noise', nonNegative, DEFAULTS.noise),
    sampling: f.orElse('sampling', (k) => f.choice(k, SAMPLINGS), DEFAULTS.sampling),
    delta: f.orElse('delta', (k) => f.number(k, 'a number between 0 and 1', { above: 0, below: 1 }), DEFAULTS.delta),
    targetEpsilon: f.orElse('targetEpsilon', positive, undefined),
    opt: f.orElse('opt', (k) => f.choice(k, OPTIMIZERS), DEFAULTS.opt),
    schedule: f.orElse('schedule', (k) => f.choice(k, SCHEDULES), DEFAULTS.schedule),
    warmup: f.orElse('warmup', (k) => f.int(k, 0), DEFAULTS.warmup),
  };
  checkTogether(s, sizes, fail);
  return s;
}

/** What the run's flags require of each other, and the model's hidden widths, as a run that wrote the file had them. */
function checkTogether(s: RunSettings, sizes: readonly number[], fail: (problem: string) => Error): void {
  const hidden = sizes.slice(1, -1);
  if (s.hidden.join() !== hidden.join()) throw fail(`hidden is [${s.hidden.join(', ')}], but its tensors make a ${sizes.join('-')} model`);
  if (s.opt === 'adamw' && s.momentum !== 0) throw fail(`momentum is ${s.momentum}, but AdamW has no SGD momentum (opt is adamw)`);
  if (s.warmup > 0 && s.schedule !== 'cosine') throw fail(`warmup is ${s.warmup}, but warmup is the cosine schedule's and schedule is ${s.schedule}`);
  // the run that chose its noise for a target ε recorded the noise it chose
  if (s.targetEpsilon !== undefined && !(s.noise > 0)) throw fail(`targetEpsilon is ${s.targetEpsilon}, but noise is ${s.noise}: the noise chosen for it is missing`);
  if (s.noise > 0 && !(s.clip > 0)) throw fail(`noise is ${s.noise}, but clip is ${s.clip}: DP-SGD's noise is scaled to the clipping norm`);
  if (s.noise > 0 && s.sampling !== 'poisson') throw fail(`noise is ${s.noise}, but sampling is ${s.sampling}: DP-SGD's accounting needs poisson`);
}
