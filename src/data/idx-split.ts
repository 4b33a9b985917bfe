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

