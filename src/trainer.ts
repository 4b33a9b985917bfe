import type { Dataset } from './data/dataset.js';
import { Arena } from './engine/arena.js';
import { Engine } from './engine/engine.js';
import { SharedState } from './engine/shared-state.js';
import type { KernelName } from './kernels/kernel.js';
import { initParams, type InitScheme } from './model/init.js';
import { mlpSizes } from './model/layout.js';
import { Rng } from './rng.js';
import { DataLoader, type BatchLoader } from './train/data-loader.js';
import { PoissonLoader } from './train/poisson-loader.js';
import { RandomSampler, SequentialSampler } from './train/sampler.js';
import type { OptimizerName } from './optim/adamw.js';

export interface TrainerOptions {
  /** hidden layer widths: [50] is the lesson's 784-50-10 */
  hidden: number[];
  batchSize: number;
  seed: number;
  init: InitScheme;
  kernel: KernelName;
  /** compute threads: the calling thread and threads - 1 pool workers (the same bytes for any count) */
  threads: number;
  /** a seeded reshuffle every epoch, or the data's own order */
  shuffle: boolean;
  /** keep a momentum buffer (needed to train with momentum) */
  momentum: boolean;
  /** sgd, or adamw (keeps AdamW's two moment buffers) */
  optimizer: OptimizerName;
  /** keep each evaluated row's class probabilities (Engine.predictions) */
  predictions: boolean;
  /** uniform: batches of batchSize rows in the sampler's order; poisson: each row joins a step's batch with probability batchSize / n */
  sampling: 'uniform' | 'poisson';
}

export const DEFAULT_TRAINER_OPTIONS: TrainerOptions = {
  hidden: [50],
  batchSize: 50,
  seed: 0,
  init: 'kaiming',
  kernel: 'wasm',
  threads: 1,
  shuffle: true,
  momentum: false,
  optimizer: 'sgd',
  predictions: false,
  sampling: 'uniform',
};

/**
 * An engine over `data` with freshly initialised parameters, and a loader for the training split.
 * Pass an arena the dataset was loaded into to share it without a copy.
 */
export function createTrainer(data: Dataset, options: Partial<TrainerOptions> = {}, arena = new Arena()): { engine: Engine; loader: BatchLoader } {
  // an option given as undefined takes its default, as one left out does
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o: TrainerOptions = { ...DEFAULT_TRAINER_OPTIONS, ...given };
  const n = data.train.n;
  const batchSize = Math.min(o.batchSize, n);
  const sizes = mlpSizes(data.nIn, o.hidden, data.nClasses);
  // Poisson batches have their own draws, keyed by the seed like the shuffle's
  const loader: BatchLoader =
    o.sampling === 'poisson' ? new PoissonLoader(n, batchSize, shuffleSeed(o.seed)) : new DataLoader(o.shuffle ? new RandomSampler(n, shuffleSeed(o.seed)) : new SequentialSampler(n), n, batchSize);
  const state = SharedState.create(arena, data, { sizes, batchSize: loader.maxBatch, kernel: o.kernel, threads: o.threads, momentum: o.momentum || o.optimizer === 'adamw', variance: o.optimizer === 'adamw', predictions: o.predictions });
  // initialised in the model layout (the same numbers for every kernel), stored as the kernel keeps them
  const weights = new Float32Array(state.layout.count);
  initParams(weights, state.layout, o.init, new Rng(o.seed));
  state.storage.store(weights, state.params);
  const engine = new Engine(state, o.threads);
  return { engine, loader };
}

/** The batches' stream is apart from the initialisation's, so that turning the shuffle on or off leaves the initial weights as they are. */
function shuffleSeed(seed: number): number {
  return (seed ^ 0x5deece66) >>> 0;
}
