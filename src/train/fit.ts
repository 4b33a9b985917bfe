import type { Engine } from '../engine/engine.js';
import { RunError } from '../errors.js';
import type { DataLoader } from './data-loader.js';

export interface FitOptions {
  epochs: number;
  lr: number;
  /** PyTorch optim.SGD momentum (0: plain SGD) */
  momentum?: number;
  /** PyTorch optim.SGD weight_decay */
  weightDecay?: number;
  /** stop after this many optimizer steps in all (the epoch in progress is then evaluated and reported) */
  maxSteps?: number;
}

export interface StepEvent {
  epoch: number;
  /** optimizer steps so far, this one included */
  step: number;
  /** batch number within the epoch, from 1 */
  batch: number;
  batches: number;
  /** mean loss over this batch */
  loss: number;
}

export interface EpochEvent {
  epoch: number;
  epochs: number;
  steps: number;
  /** mean training loss over the epoch's samples (each measured before its step's update) */
  trainLoss: number;
  trainAccuracy: number;
  validLoss: number;
  validAccuracy: number;
  samples: number;
  /** training throughput: samples / training time (evaluation excluded) */
  samplesPerSecond: number;
  /** wall time of the epoch, evaluation included */
  seconds: number;
}

export interface FitResult {
  epochs: number;
  steps: number;
  samples: number;
  /** training time, evaluation excluded */
  trainSeconds: number;
  seconds: number;
  validLoss: number;
  validAccuracy: number;
}

/** Hooks into the loop (metrics, progress, logging), as the lesson's callbacks do. */
export interface Callback {
  afterStep?(e: StepEvent): void;
  afterEpoch?(e: EpochEvent): void;
  afterFit?(r: FitResult): void;
}

/** The training loop: for each epoch, for each batch, a step; then validation. */
export async function fit(engine: Engine, loader: DataLoader, opts: FitOptions, callbacks: Callback[] = []): Promise<FitResult> {
  const maxSteps = opts.maxSteps ?? Infinity;
  const sgd = { lr: opts.lr, momentum: opts.momentum ?? 0, weightDecay: opts.weightDecay ?? 0 };
  const lossLimit = DIVERGED_LOSS_FACTOR * Math.log(engine.layout.sizes[engine.layout.sizes.length - 1]);
  const start = performance.now();
  let steps = 0;
  let samples = 0;
  let trainMs = 0;
  let epochsRun = 0;
  let lastValid: Metrics | null = null;
  for (let epoch = 1; epoch <= opts.epochs && steps < maxSteps; epoch++) {
    const epochStart = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batch = 0;
    for (const ids of loader.epoch()) {
      if (steps >= maxSteps) break;
      const s = await engine.step(ids, sgd);
      steps++;
      checkLoss(s.loss / ids.length, lossLimit, steps);
      batch++;
      lossSum += s.loss;
      correct += s.correct;
      seen += ids.length;
      for (const cb of callbacks) cb.afterStep?.({ epoch, step: steps, batch, batches: loader.length, loss: s.loss / ids.length });
    }
    const trainEnd = performance.now();
    checkFinite(engine.params, steps);
    trainMs += trainEnd - epochStart;
    samples += seen;
    epochsRun = epoch;
    const valid = await validate(engine);
    lastValid = valid;
    const e: EpochEvent = {
      epoch,
      epochs: opts.epochs,
      steps,
      trainLoss: seen ? lossSum / seen : NaN,
      trainAccuracy: seen ? correct / seen : NaN,
      validLoss: valid.loss,
      validAccuracy: valid.accuracy,
      samples: seen,
      samplesPerSecond: seen / ((trainEnd - epochStart) / 1000),
      seconds: (performance.now() - epochStart) / 1000,
    };
    for (const cb of callbacks) cb.afterEpoch?.(e);
  }
  // With no epoch run (--steps 0), report the model as it stands.
  const valid = lastValid ?? (await validate(engine));
  const result: FitResult = {
    epochs: epochsRun,
    steps,
    samples,
    trainSeconds: trainMs / 1000,
    seconds: (performance.now() - start) / 1000,
    validLoss: valid.loss,
    validAccuracy: valid.accuracy,
  };
  for (const cb of callbacks) cb.afterFit?.(result);
  return result;
}

interface Metrics {
  /** mean loss per sample */
  loss: number;
  accuracy: number;
}

/** Mean loss and accuracy on the validation split. */
export async function validate(engine: Engine): Promise<Metrics> {
  const n = engine.state.split('valid').n;
  const s = await engine.evaluate('valid');
  return { loss: s.loss / n, accuracy: s.correct / n };
}

/** Training blew up (a NaN or infinite loss or weight): stop rather than go on or save it. */
export class DivergenceError extends RunError {
  constructor(step: number, what: string) {
    super(`training diverged at step ${step}: ${what}; try a lower learning rate (--lr)`);
    this.name = 'DivergenceError';
  }
}

/**
 * A batch whose mean loss is a thousand times that of a uniform guess (ln C) has diverged: its logits
 * are hundreds of units apart on wrong classes, and the ReLUs that fed them are dead. With the stable
 * logsumexp the loss of such a run stays finite, so NaN alone would not catch it.
 */
export const DIVERGED_LOSS_FACTOR = 1000;

function checkLoss(meanLoss: number, limit: number, step: number): void {
  if (!Number.isFinite(meanLoss)) throw new DivergenceError(step, `the loss is ${meanLoss}`);
  if (meanLoss > limit) throw new DivergenceError(step, `the mean loss is ${meanLoss.toPrecision(3)}, over ${DIVERGED_LOSS_FACTOR} x ln(classes)`);
}

/** Throws a DivergenceError if any parameter is NaN or infinite. */
export function checkFinite(params: Float32Array, step: number): void {
  for (let i = 0; i < params.length; i++) {
    if (!Number.isFinite(params[i])) throw new DivergenceError(step, `parameter ${i} is ${params[i]}`);
  }
}
