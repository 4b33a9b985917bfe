// The benchmarks' starting weights, for the states they make themselves (createTrainer makes its own).

/** Kaiming weights from seed `seed`, as the trainer starts, stored into `state`'s parameters; `lib` is the trainer build (its dist/index.js). */
export function initWeights(lib, state, seed) {
  const w = new Float32Array(state.layout.count);
  lib.initParams(w, state.layout, 'kaiming', new lib.Rng(seed));
  state.storage.store(w, state.params);
}
