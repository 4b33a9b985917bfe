// The benchmarks' trainer: batches in data order, wrapping around at the end of an epoch, so that
// every configuration (thread count, process, side trainer) does the same work step for step.
import { createTrainer } from '../dist/index.js';

/** A trainer over `data` in `arena` and its next batch of sample ids, for ever. */
export function inOrderTrainer(data, arena, { threads, batchSize, kernel }) {
  const { engine, loader } = createTrainer(data, { threads, batchSize, kernel, shuffle: false }, arena);
  const batches = (function* () {
    for (;;) yield* loader.epoch();
  })();
  return { engine, nextBatch: () => batches.next().value };
}
