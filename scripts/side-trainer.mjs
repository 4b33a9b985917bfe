// A second, independent 1-thread trainer in a worker thread, for scripts/bench-scaling.mjs: it trains
// while the main thread says so and sleeps otherwise, so that the main thread can time its own
// 1-thread trainer alone and then with this one beside it. Two trainers that share nothing but the
// machine are the most that two threads can do at that moment: the ceiling for a 2-thread run.
//
// Shared words (Int32Array over a SharedArrayBuffer the main thread passes):
//   [RUN]      1: train, 0: sleep, -1: leave; the main thread writes it and notifies
//   [RUNNING]  1 while this thread is training (it has seen RUN = 1 and started a step)
//   [STEPS]    training steps finished since the start (the main thread reads it around a burst)
import { parentPort, workerData } from 'node:worker_threads';
import * as lib from '../dist/index.js';
import { sharedMnist } from './lib/mnist.mjs';
import { inOrderTrainer } from './in-order-trainer.mjs';
import { BENCH_SGD as SGD } from './lib/settings.mjs';

export const RUN = 0;
export const RUNNING = 1;
export const STEPS = 2;
export const WORDS = 3;

if (parentPort) {
  const { ctl, kernel } = workerData;
  const { arena, data } = sharedMnist(lib, kernel);
  // a message gives the batch size: a new trainer, until RUN = -1 closes it
  parentPort.on('message', async (bs) => {
    const { engine, nextBatch } = inOrderTrainer(data, arena, { threads: 1, batchSize: bs, kernel });
    parentPort.postMessage('ready');
    for (;;) {
      Atomics.wait(ctl, RUN, 0);
      if (Atomics.load(ctl, RUN) < 0) break;
      Atomics.store(ctl, RUNNING, 1);
      while (Atomics.load(ctl, RUN) === 1) {
        await engine.step(nextBatch(), SGD);
        Atomics.add(ctl, STEPS, 1);
      }
      Atomics.store(ctl, RUNNING, 0);
      if (Atomics.load(ctl, RUN) < 0) break;
    }
    await engine.close();
    parentPort.postMessage('left');
  });
}
