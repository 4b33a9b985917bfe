// The optimizer settings the benchmarks share.

/** Plain SGD at a small learning rate: every step does the full work and the weights stay sane for any number of steps. */
export const BENCH_SGD = { lr: 0.05, momentum: 0, weightDecay: 0 };

/** The lesson's SGD at scripts/numpy_mlp.py's learning rate: the speed table's runs train as the numpy loop beside them does. */
export const NUMPY_SGD = { lr: 0.1, momentum: 0, weightDecay: 0 };

/** A slice update that writes every parameter and changes none (lr 0): repeats of a timed pass do the same work. */
export const STILL_UPDATE = { lr: 0, momentum: 0, weightDecay: 0, meanOver: 1, noiseStd: 0, noiseSeed: 0, noiseStep: 0, adamw: null };
