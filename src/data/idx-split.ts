import { DataError } from '../errors.js';
import type { Allocator, Split } from './dataset.js';
import { idxImages, idxLabels, idxReadLimits } from './idx.js';
import { readDataFile } from './read-file.js';

/** An images file and its labels file, checked against each other. */
export function loadIdxSplit(imagesFile: string, labelsFile: string, alloc: Allocator): Split {
  const labels = idxLabels(readDataFile(labelsFile, idxReadLimits(labelsFile)), labelsFile, alloc);
  const images = idxImages(readDataFile(imagesFile, idxReadLimits(imagesFile)), imagesFile, alloc);
  if (images.n !== labels.length) {
    throw new DataError(labelsFile, `holds ${labels.length} labels but ${imagesFile} holds ${images.n} images`);
  }
  return { x: images.x, y: labels, n: images.n, nIn: images.nIn };
}

/** The number of classes the labels name (largest label + 1). */
export function classCount(y: Int32Array): number {
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i] > max) max = y[i];
  return max + 1;
}

/** Every label must name a class the model has. */
export function checkLabels(y: Int32Array, nClasses: number, file: string): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= nClasses) {
      throw new DataError(file, `label ${y[i]} at row ${i} is outside the class range 0..${nClasses - 1}`);
    }
  }
}
