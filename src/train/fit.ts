import type { Engine } from '../engine/engine.js';
import { RunError } from '../errors.js';
import type { AdamWStep } from '../optim/adamw.js';
import { constantSchedule, type Schedule } from '../optim/schedule.js';
import { epsilonAfter } from '../privacy/rdp.js';
import type { BatchLoader } from './data-loader.js';
import { GradientNorms, type NormStats } from './gradient-norms.js';

/**
 * DP-SGD, with Opacus's semantics: each row's gradient clipped to L2 norm `clip`, Gaussian noise of
 * standard deviation noise * clip added to each summed gradient element, the sum divided by
 * `meanOver` (under Poisson sampling, the expected batch size q n) instead of the batch's rows.
 */
export interface PrivacyOptions {
  /** the per-sample clipping norm C */
  clip?: number;
  /** the noise multiplier σ (needs clip) */
  noise?: number;
  /** what the summed gradient is divided by (default: each batch's rows) */
  meanOver?: number;
  /** the noise's seed */
  seed: number;
  /** for the accountant: the sampling rate q and δ (ε is reported after each epoch when there is noise) */
  sampleRate?: number;
  delta?: number;
}

export interface FitOptions {
  epochs: number;
  /** the learning rate of every step, unless `schedule` is given */
  lr: number;
  /** each step's lr (and momentum or β1) as a function of the step (default: lr every step) */
  schedule?: Schedule;
  /** PyTorch optim.SGD momentum (0: plain SGD; with a schedule that cycles momentum, the schedule's) */
  momentum?: number;
  /** PyTorch optim.SGD weight_decay, or AdamW's decoupled weight decay */
  weightDecay?: number;
  /** train with torch.optim.AdamW and these settings (β1 the schedule's when it cycles momentum), instead of SGD */
  adamw?: Omit<AdamWStep, 't'>;
  /** stop after this many optimizer steps in all (the epoch in progress is then evaluated and reported) */
  maxSteps?: number;
  /** continue a run from here (a checkpoint's progress) */
  start?: FitProgress;
  /** asked before each step: true stops the run there */
  shouldStop?: () => boolean;
  /** DP-SGD's clipping, noise and accounting */
  privacy?: PrivacyOptions;
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
  /** the step's learning rate */
  lr: number;
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
  /** the epoch's per-sample gradient norms, before clipping */
  gradNorm: NormStats | null;
  /** with DP noise: the privacy spent so far, ε at δ (RDP accountant) */
  epsilon?: number;
  delta?: number;
  /** the learning rate of the epoch's last step */
  lr: number;
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
  /** stopped by shouldStop() between two steps */
  interrupted: boolean;
}

/**
 * Where a run stands between two steps: enough to continue it exactly (a checkpoint records it).
 * `epoch` is the epoch in progress, of which `batch` batches are done, with these running sums.
 */
export interface FitProgress {
  epoch: number;
  batch: number;
  steps: number;
  lossSum: number;
  correct: number;
  seen: number;
  /** the sampler's state at the start of `epoch` (null for an unshuffled sampler) */
  samplerState: number[] | null;
  /** the per-sample gradient norms of the epoch's batches done so far (a checkpoint stores them as a tensor) */
  gradNorms?: Float32Array;
}

/** Hooks into the loop (metrics, progress, logging, checkpoints), as the lesson's callbacks do. */
export interface Callback {
  afterStep?(e: StepEvent, progress: FitProgress): void;
  /** After an epoch (progress then stands at the start of the next). */
  afterEpoch?(e: EpochEvent, progress: FitProgress): void;
  afterFit?(r: FitResult, progress: FitProgress): void;
}

/** How long the loop may run before it lets the event loop in (signals, pool events, output). */
const YIELD_MS = 50;

/**
 * The training loop: for each epoch, for each batch, a step; then validation. It starts from
 * `opts.start` when given (a resumed run), and stops between two steps when `opts.shouldStop()`
 * says so (result.interrupted), without evaluating the unfinished epoch.
 */
export async function fit(engine: Engine, loader: BatchLoader, opts: FitOptions, callbacks: Callback[] = []): Promise<FitResult> {
  const maxSteps = opts.maxSteps ?? Infinity;
  const dp = opts.privacy;
  const clip = dp?.clip ?? 0;
  const noise = dp?.noise ?? 0;
  if (noise > 0 && !(clip > 0)) throw new RangeError('DP noise is scaled to the clipping norm: it needs clip');
  const schedule = opts.schedule ?? constantSchedule(opts.lr);
  const momentum = opts.momentum ?? 0;
  const adamw = opts.adamw ? { ...opts.adamw, t: 0 } : undefined;
  const step = { lr: opts.lr, momentum, weightDecay: opts.weightDecay ?? 0, clip, meanOver: dp?.meanOver, noiseStd: noise * clip, noiseSeed: dp?.seed ?? 0, noiseStep: 0, adamw };
  // step s's settings: a pure function of s, so a resumed run continues them exactly
  const setStep = (s: number) => {
    step.lr = schedule.lr(s);
    const m = schedule.momentum(s);
    if (adamw) {
      adamw.beta1 = m ?? opts.adamw!.beta1;
      adamw.t = s + 1;
    } else if (momentum !== 0 && m !== null) {
      step.momentum = m;
    }
    step.noiseStep = s + 1;
  };
  const norms = new GradientNorms();
  const lossLimit = DIVERGED_LOSS_FACTOR * Math.log(engine.layout.nClasses);
  const p: FitProgress = opts.start ? { ...opts.start } : { epoch: 1, batch: 0, steps: 0, lossSum: 0, correct: 0, seen: 0, samplerState: null };
  if (opts.start?.samplerState) loader.sampler.setState(opts.start.samplerState);
  norms.reset(opts.start?.gradNorms);
  const start = performance.now();
  let lastYield = start;
  let samples = 0;
  let trainMs = 0;
  let epochsRun = 0;
  let interrupted = false;
  let lastValid: Metrics | null = null;
  while (p.epoch <= opts.epochs && p.steps < maxSteps && !interrupted) {
    const epoch = p.epoch;
    const epochStart = performance.now();
    const seenBefore = p.seen;
    p.samplerState = loader.sampler.getState();
    let b = 0;
    for (const ids of loader.epoch(epoch)) {
      if (b++ < p.batch) continue; // done before the run was resumed
      if (p.steps >= maxSteps) break;
      if (opts.shouldStop?.()) {
        interrupted = true;
        break;
      }
      setStep(p.steps);
      const s = await engine.step(ids, step);
      p.steps++;
      p.batch++;
      if (ids.length > 0) checkLoss(s.loss / ids.length, lossLimit, p.steps); // Poisson sampling can draw an empty batch
      p.lossSum += s.loss;
      p.correct += s.correct;
      p.seen += ids.length;
      norms.add(engine.state.factors.norm.subarray(0, ids.length));
      p.gradNorms = norms.list;
      for (const cb of callbacks) cb.afterStep?.({ epoch, step: p.steps, batch: p.batch, batches: loader.length, loss: s.loss / ids.length, lr: step.lr }, p);
      if (performance.now() - lastYield > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const trainEnd = performance.now();
    checkFinite(engine.weights(), p.steps);
    trainMs += trainEnd - epochStart;
    samples += p.seen - seenBefore;
    if (interrupted) break;
    epochsRun++;
    const valid = await validate(engine);
    lastValid = valid;
    const e: EpochEvent = {
      epoch,
      epochs: opts.epochs,
      steps: p.steps,
      trainLoss: p.seen ? p.lossSum / p.seen : NaN,
      trainAccuracy: p.seen ? p.correct / p.seen : NaN,
      validLoss: valid.loss,
      validAccuracy: valid.accuracy,
      samples: p.seen,
      samplesPerSecond: (p.seen - seenBefore) / ((trainEnd - epochStart) / 1000),
      seconds: (performance.now() - epochStart) / 1000,
      gradNorm: norms.stats(),
      lr: step.lr,
    };
    if (noise > 0 && dp?.sampleRate !== undefined && dp.delta !== undefined) {
      e.epsilon = epsilonAfter(dp.sampleRate, noise, p.steps, dp.delta);
      e.delta = dp.delta;
    }
    if (p.batch >= loader.length) {
      // The epoch is complete: the next one starts from scratch.
      norms.reset();
      Object.assign(p, { epoch: epoch + 1, batch: 0, lossSum: 0, correct: 0, seen: 0, samplerState: loader.sampler.getState(), gradNorms: norms.list });
    }
    for (const cb of callbacks) cb.afterEpoch?.(e, p);
  }
  // With no epoch run (--steps 0, or stopped in the first), report the model as it stands.
  const valid = lastValid ?? (await validate(engine));
  const result: FitResult = {
    epochs: epochsRun,
    steps: p.steps,
    samples,
    trainSeconds: trainMs / 1000,
    seconds: (performance.now() - start) / 1000,
    validLoss: valid.loss,
    validAccuracy: valid.accuracy,
    interrupted,
  };
  for (const cb of callbacks) cb.afterFit?.(result, p);
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
