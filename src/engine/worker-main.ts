import { workerData } from 'piscina';
import { faultFromEnv, maybeFail } from './fault.js';
import { SharedState } from './shared-state.js';
import { SPIN_MICROS, Word, spinWhileEqual, wakePhaseWaiters } from './step-control.js';
import { StepWork } from './step-work.js';
import type { WorkerSetup } from './pool.js';

/**
 * A worker thread: built once from the shared setup, then one long task that takes part in every
 * step until the coordinator says stop. The first workers, one per spare core, wait for steps on
 * the GEN word, spinning for a while between steps, then asleep in Atomics.wait; they are the ones
 * the coordinator wakes. The others (more threads than cores) wait on STOP for the end of the run:
 * more running threads than cores would only take turns on them, and a step's wake-up would
 * otherwise reach a sleeper picked in turn instead of the spinner that fell asleep.
 */
const { shared, spinners } = workerData as WorkerSetup;
const state = SharedState.attach(shared);
const ctrl = state.control;
/** this worker's index (1, 2, ...): its kernel scratch region, and its name in errors */
const index = state.claimScratch();
const spinner = index <= spinners;
// only the workers that take part in steps need a kernel (and its compiled module)
const work = spinner ? new StepWork(state, state.kernel(index)) : null;
const fault = faultFromEnv();
Atomics.add(ctrl, Word.READY, 1);

/** Marks this worker failed and wakes the threads waiting on the step (they would wait forever). */
function markFailed(): void {
  Atomics.compareExchange(ctrl, Word.FAILED, 0, index + 1);
  wakePhaseWaiters(ctrl);
}

// A thread that ends in the middle of the run (process.exit in a worker ends just that thread).
process.on('exit', () => {
  if (Atomics.load(ctrl, Word.STOP) === 0) markFailed();
});

export default function serve(): number {
  let seen = Atomics.load(ctrl, Word.GEN);
  const stopped = () => Atomics.load(ctrl, Word.STOP) !== 0;
  try {
    if (work === null) {
      while (!stopped()) Atomics.wait(ctrl, Word.STOP, 0);
      return index;
    }
    // STOP is set before GEN is bumped, so checking it first also covers a worker that starts late.
    while (!stopped()) {
      Atomics.add(ctrl, Word.SPINNING, 1);
      spinWhileEqual(ctrl, Word.GEN, seen, SPIN_MICROS);
      Atomics.sub(ctrl, Word.SPINNING, 1);
      while (Atomics.load(ctrl, Word.GEN) === seen) Atomics.wait(ctrl, Word.GEN, seen);
      if (stopped()) break;
      seen = Atomics.load(ctrl, Word.GEN);
      maybeFail(fault, index, ctrl[Word.STEP]);
      work.run(seen);
    }
    return index;
  } catch (e) {
    // Tell the coordinator at once (it is waiting on the DONE words), then let piscina report the error.
    markFailed();
    throw e;
  }
}
