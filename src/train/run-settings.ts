import type { ValidSplit } from '../data/idx-folder.js';
import type { KernelName } from '../kernels/kernel.js';
import type { InitScheme } from '../model/init.js';
import type { OptimizerName } from '../optim/adamw.js';
import type { ScheduleName } from '../optim/schedule.js';

/**
 * What decides the numbers a run computes. A checkpoint records these, and --resume takes them from
 * it unless a flag says otherwise.
 */
export interface RunSettings {
  epochs: number;
  bs: number;
  lr: number;
  momentum: number;
  wd: number;
  hidden: number[];
  seed: number;
  init: InitScheme;
  kernel: KernelName;
  shuffle: boolean;
  data: string | undefined;
  validSplit: ValidSplit;
  trainRows: number | undefined;
  validRows: number | undefined;
  /** DP-SGD: per-sample clipping norm (0: none), noise multiplier σ (0: none), how batches are drawn, δ */
  clip: number;
  noise: number;
  sampling: Sampling;
  delta: number;
  /** DP-SGD: the ε the noise multiplier was chosen for (--target-epsilon), or undefined */
  targetEpsilon: number | undefined;
  /** the optimizer: torch.optim.SGD or AdamW */
  opt: OptimizerName;
  /** each step's lr: constant, PyTorch's OneCycleLR with fastai's defaults, or cosine annealing */
  schedule: ScheduleName;
  /** cosine: steps of linear warmup first */
  warmup: number;
}

export const SAMPLINGS = ['uniform', 'poisson'] as const;
export type Sampling = (typeof SAMPLINGS)[number];

/** The defaults reach 97% validation accuracy on MNIST (README: measured figures). */
export const DEFAULTS: RunSettings = {
  epochs: 10,
  bs: 50,
  lr: 0.2,
  momentum: 0,
  wd: 0,
  hidden: [50],
  seed: 0,
  init: 'kaiming',
  kernel: 'wasm',
  shuffle: true,
  data: undefined,
  validSplit: 'train-tail',
  trainRows: undefined,
  validRows: undefined,
  clip: 0,
  noise: 0,
  sampling: 'uniform',
  delta: 1e-5,
  targetEpsilon: undefined,
  opt: 'sgd',
  schedule: 'constant',
  warmup: 0,
};

/** The settings' names, in the order RunSettings declares them (the order a checkpoint records them in). */
export const SETTING_KEYS = Object.keys(DEFAULTS) as (keyof RunSettings)[];

/** The run settings among a wider set of arguments (the command line's). */
export function pickRunSettings(a: RunSettings): RunSettings {
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, a[k]])) as unknown as RunSettings;
}
