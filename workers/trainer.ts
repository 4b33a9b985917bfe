// The worker thread's entry: the pool loads this file, the logic lives in the library.
export { default } from 'mlp-parallel/worker';
