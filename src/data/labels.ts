import { DataError } from '../errors.js';

/**
 * The class labels' checks, one for every loader: the classes are what the training labels name
 * (the largest label + 1), and every split's labels must name one of them.
 */

/** The number of classes the labels name (largest label + 1).   y: [n] */
export function classCount(y: Int32Array): number {
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i] > max) max = y[i];
  return max + 1;
}

/** Every label must name a class the model has; `where` names the labels in the file ("y_valid: "), rows counted from its first.   y: [n] */
export function checkLabels(y: Int32Array, nClasses: number, file: string, where = ''): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= nClasses) {
      throw new DataError(file, `${where}label ${y[i]} at row ${i} is outside the class range 0..${nClasses - 1}`);
    }
  }
}
