/**
 * The library: everything a program needs to train and evaluate the MLP in code, built from the
 * lesson's pieces. The common case is one call:
 *
 *   const { weights, history } = await train({ threads: 4, epochs: 5 });
 *
 * and the pieces it is made of:
 *
 *   const arena = new Arena();
 *   const data = loadMnist({ alloc: arenaAllocator(arena) });
 *   const { engine, loader } = createTrainer(data, { threads: 4 }, arena);
 *   await fit(engine, loader, { epochs: 5, lr: 0.2 }, [{ afterEpoch: (e) => console.log(e) }]);
 *   await engine.close();
 */
export { Rng } from './rng.js';
export { UserError, DataError } from './errors.js';

// data
export type { Dataset, Split, Allocator, NonZeroIndex } from './data/dataset.js';
export { buildNonZeroIndex } from './data/non-zero-index.js';
export { heapAllocator, sliceSplit, headSplit } from './data/dataset.js';
export { loadMnist, mnistDataDir, MNIST_TRAIN_ROWS } from './data/mnist.js';
export { parseIdx, idxImages, idxLabels } from './data/idx.js';
export { loadIdxSplit } from './data/idx-split.js';
export { readDataFile } from './data/read-file.js';

// the model and its math
export type { Floats, Stats } from './nn/types.js';
export { linForward, linBackward, linWeightGrad, type LinFactors } from './nn/linear.js';
export { reluForward, reluBackward } from './nn/relu.js';
export { logsumexp, crossEntropyForward, crossEntropyBackward, correctRows } from './nn/cross-entropy.js';
export { Lin, Relu, type Layer } from './nn/layers.js';
export { Mlp } from './nn/mlp.js';
export { mlpLayout, mlpSizes, type MlpLayout, type TensorSpec, type LinearSpec } from './model/layout.js';
export { initParams, INIT_SCHEMES, type InitScheme } from './model/init.js';
export type { Kernel, KernelName, KernelContext, StepViews } from './kernels/kernel.js';
export { KERNELS, paramStorage, type KernelDefinition } from './kernels/create.js';
export { ParamStorage } from './kernels/param-storage.js';
export { KERNEL_NAMES } from './kernels/kernel.js';

// training
export { sgdStep, sgdUpdate, type SgdOptions, type UpdateOptions } from './optim/sgd.js';
export { adamwStep, adamwScalars, ADAMW_DEFAULTS, OPTIMIZERS, type AdamWOptions, type AdamWStep, type OptimizerName } from './optim/adamw.js';
export { constantSchedule, oneCycleSchedule, cosineSchedule, ONE_CYCLE_DEFAULTS, SCHEDULES, type Schedule, type ScheduleName, type OneCycleOptions } from './optim/schedule.js';
export { SequentialSampler, RandomSampler, type Sampler } from './train/sampler.js';
export { DataLoader } from './train/data-loader.js';
export { fit, validate, type Callback, type FitOptions, type FitResult, type EpochEvent, type StepEvent } from './train/fit.js';
export { createTrainer, DEFAULT_TRAINER_OPTIONS, type TrainerOptions } from './trainer.js';
export { train, type TrainOptions, type Trained } from './train-api.js';

// the parallel machinery
export { Arena } from './engine/arena.js';
export { arenaAllocator } from './engine/arena-allocator.js';
export { Engine, type StepOptions } from './engine/engine.js';
export { GaussianNoise, philox4x32 } from './privacy/noise.js';
export { SharedState, type SplitName } from './engine/shared-state.js';
export { planSlices, inputDensity, rowItemCount, rowsPerItem, itemStart, evalItemCount, type Slice, type SlicePlan } from './engine/work-plan.js';
export type { BatchFactors } from './engine/batch-factors.js';

// reports
export { confusionMatrix, perClassAccuracy, mostConfidentlyWrong, type ClassAccuracy } from './report/confusion.js';
export { lossPlot } from './report/plot-callback.js';
export { metricsLog } from './report/metrics-log.js';

// checkpoints
export { saveWeights } from './io/weights.js';
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from './io/safetensors.js';
export { atomicWrite } from './io/atomic-write.js';
export { readSafetensors, copyWeights, readWeights, checkpointSizes } from './io/load-weights.js';
export { saveCheckpoint, readCheckpoint, loadCheckpointTensors, type Checkpoint, type CheckpointInfo } from './train/checkpoint.js';
export { loadDataset, type LoadOptions } from './data/load.js';
export { loadPklDataset } from './data/pkl-mnist.js';
export { loadIdxFolder } from './data/idx-folder.js';
