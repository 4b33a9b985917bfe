import { workerData } from 'piscina';
import { SGD } from '../optim/sgd.js';
import { SharedState, type SharedSetup } from './shared-state.js';
import type { Task, TaskResult } from './tasks.js';

/**
 * The worker side of the pool: built once per thread from the shared setup, then one call per task.
 * Each worker has its own kernel scratch; everything else is the coordinator's shared memory.
 */
const state = SharedState.attach(workerData as SharedSetup);
const kernel = state.claimKernel();
const sgd = new SGD(0);

export default function runTask(task: Task): TaskResult {
  const { params, slots, batch } = state;
  const P = params.length;
  switch (task.op) {
    case 'grad': {
      const s = kernel.gradient(params, state.split('train'), batch, task.lo, task.hi, slots.subarray(task.chunk * P, (task.chunk + 1) * P));
      return [s.loss, s.correct];
    }
    case 'eval': {
      const s = kernel.evaluate(params, state.split(task.split), task.lo, task.hi);
      return [s.loss, s.correct];
    }
    case 'update':
      sgd.lr = task.lr;
      sgd.updateSlice(params, slots, task.nChunks, task.batchSize, task.lo, task.hi);
      return [0, 0];
  }
}
