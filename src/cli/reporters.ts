import type { Callback, EpochEvent, FitResult, StepEvent } from '../train/fit.js';

type Write = (s: string) => void;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** A table on stdout: one row per epoch (with DP noise, the ε spent so far), then a line with totals. */
export function textReporter(write: Write): Callback {
  let header = false;
  return {
    afterEpoch(e: EpochEvent) {
      const dp = e.epsilon !== undefined;
      if (!header) {
        write(`epoch  train_loss  valid_loss  valid_acc  samples/s  seconds${dp ? '  epsilon' : ''}\n`);
        header = true;
      }
      write(
        `${String(e.epoch).padStart(5)}  ${e.trainLoss.toFixed(4).padStart(10)}  ${e.validLoss.toFixed(4).padStart(10)}  ` +
          `${pct(e.validAccuracy).padStart(9)}  ${int(e.samplesPerSecond).padStart(9)}  ${e.seconds.toFixed(2).padStart(7)}` +
          `${dp ? `  ${e.epsilon!.toFixed(3).padStart(7)}` : ''}\n`,
      );
    },
    afterFit(r: FitResult) {
      const speed = r.trainSeconds > 0 ? ` (${int(r.samples / r.trainSeconds)} samples/s)` : '';
      write(
        `done: ${r.epochs} epochs, ${int(r.steps)} steps, ${int(r.samples)} samples in ${r.seconds.toFixed(2)} s${speed}; ` +
          `valid_loss ${r.validLoss.toFixed(4)}, valid_acc ${pct(r.validAccuracy)}\n`,
      );
    },
  };
}

/** One JSON object per line: {"event":"epoch",...} per epoch and {"event":"done",...} at the end. */
export function jsonReporter(write: Write): Callback {
  return {
    afterEpoch: (e) => write(`${JSON.stringify({ event: 'epoch', ...e })}\n`),
    afterFit: (r) => write(`${JSON.stringify({ event: 'done', ...r })}\n`),
  };
}

/** A progress bar redrawn in place on a terminal (at most every 100 ms), cleared at each epoch's end. */
export function progressBar(stream: NodeJS.WriteStream): Callback {
  let last = 0;
  const clear = () => stream.write('\r\x1b[K');
  return {
    afterStep(e: StepEvent) {
      const now = performance.now();
      if (now - last < 100 && e.batch < e.batches) return;
      last = now;
      const width = 30;
      const done = Math.round((width * e.batch) / e.batches);
      stream.write(`\r[${'='.repeat(done)}${' '.repeat(width - done)}] epoch ${e.epoch} ${e.batch}/${e.batches} loss ${e.loss.toFixed(4)}\x1b[K`);
    },
    afterEpoch: clear,
    afterFit: clear,
  };
}
