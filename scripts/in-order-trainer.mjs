// The benchmarks' trainer: batches in data order, wrapping around at the end of an epoch, so that
// every configuration (thread count, process, side trainer) does the same work step for step.
import * as thisBuild from '../dist/index.js';

/**
 * A trainer over `data` in `arena` and its next batch of sample ids, for ever. `kernel` and `hidden`
 * go to createTrainer where given. `lib` is the trainer build to use (its dist/index.js), this one
 * unless given: only its createTrainer and loader.epoch are called, so an earlier build serves too.
 */
export function inOrderTrainer(data, arena, { threads, batchSize, kernel, hidden, lib = thisBuild }) {
  // options left out are left out, not passed as undefined: an earlier build's createTrainer would
  // take an undefined for a value
  const options = { threads, batchSize, ...(kernel !== undefined && { kernel }), ...(hidden !== undefined && { hidden }), shuffle: false };
  const { engine, loader } = lib.createTrainer(data, options, arena);
  const batches = (function* () {
    for (;;) yield* loader.epoch();
  })();
  return { engine, nextBatch: () => batches.next().value };
}
