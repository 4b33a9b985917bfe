import { appendFileSync, writeFileSync } from 'node:fs';
import { writeFailure } from '../io/write-failure.js';
import type { Callback, EpochEvent, StepEvent } from '../train/fit.js';

/**
 * A run's metrics as JSON lines, one object per line, for plotting or comparing runs later:
 *
 *   {"event":"step","step":120,"epoch":1,"loss":0.3412,"lr":0.2,"samplesPerSecond":51234.5,"time":1.234}
 *   {"event":"epoch","step":1000,"epoch":1,"trainLoss":0.41,"trainAccuracy":0.88,"validLoss":0.22,
 *    "validAccuracy":0.935,"lr":0.2,"samplesPerSecond":48000.1,"time":1.62}
 *
 *   step              optimizer steps so far (this one included); on an epoch line, at the epoch's end
 *   epoch             from 1
 *   loss              step lines: the mean loss of that step's batch (before its update)
 *   trainLoss         epoch lines: mean training loss over the epoch; trainAccuracy likewise
 *   validLoss         epoch lines: mean loss on the validation split after the epoch; validAccuracy likewise
 *   gradNorm          epoch lines: {mean, median, p95, max} of the epoch's per-sample gradient norms, before clipping
 *   epsilon, delta    epoch lines of a DP-SGD run with noise: the privacy spent so far (RDP accountant)
 *   lr                the step's learning rate (--schedule); on an epoch line, the epoch's last step's
 *   samplesPerSecond  step lines: training samples per second since the previous step line (or since
 *                     the log was created or the last epoch ended, whichever is later), counting
 *                     batchSize samples per step (a short last batch of an epoch counts as full);
 *                     epoch lines: the epoch's training throughput, evaluation excluded
 *   time              seconds since the log was created
 * A value that is not a finite number (a NaN loss) is written as null, as JSON.stringify does.
 *
 * The file is created empty when the callback is made (a log is one run's record, not appended to
 * across runs), then each line is appended as it happens, so a crash keeps every line logged so far.
 */
export function metricsLog(path: string, opts: MetricsLogOptions): Callback {
  const { batchSize, every } = opts;
  if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new RangeError(`every must be a positive integer, got ${every}`);
  write(path, () => writeFileSync(path, ''));
  const start = performance.now();
  // The reference point for a step line's throughput: the previous step line, or the end of the last
  // epoch's evaluation (so that evaluation does not count as training time), or, before either, the
  // log's creation and the step before the first one seen (a resumed run does not start at step 0).
  let sinceMs = start;
  let sinceStep: number | null = null;
  const line = (o: Record<string, unknown>) => write(path, () => appendFileSync(path, `${JSON.stringify(o)}\n`));
  const time = (now: number) => round((now - start) / 1000, 6);
  return {
    afterStep(e: StepEvent) {
      sinceStep ??= e.step - 1;
      if (every === undefined || e.step % every !== 0) return;
      const now = performance.now();
      const seconds = (now - sinceMs) / 1000;
      const samplesPerSecond = seconds > 0 ? round(((e.step - sinceStep) * batchSize) / seconds, 1) : null;
      line({ event: 'step', step: e.step, epoch: e.epoch, loss: e.loss, lr: e.lr, samplesPerSecond, time: time(now) });
      sinceMs = now;
      sinceStep = e.step;
    },
    afterEpoch(e: EpochEvent) {
      const now = performance.now();
      line({
        event: 'epoch',
        step: e.steps,
        epoch: e.epoch,
        trainLoss: e.trainLoss,
        trainAccuracy: e.trainAccuracy,
        validLoss: e.validLoss,
        validAccuracy: e.validAccuracy,
        gradNorm: e.gradNorm,
        ...(e.epsilon !== undefined ? { epsilon: e.epsilon, delta: e.delta } : {}),
        lr: e.lr,
        samplesPerSecond: round(e.samplesPerSecond, 1),
        time: time(now),
      });
      sinceMs = now;
      sinceStep = e.steps;
    },
  };
}

export interface MetricsLogOptions {
  /** the batch size, to turn steps per second into samples per second */
  batchSize: number;
  /** also write a step line every `every` optimizer steps (none when unset) */
  every?: number;
}

/** A write to the log; its failure (a full disk, ...) is one line naming the file. */
function write(path: string, w: () => void): void {
  try {
    w();
  } catch (e) {
    throw writeFailure(path, e);
  }
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
