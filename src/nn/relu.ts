import type { Floats } from './types.js';

/** h = max(z, 0), element-wise over n values.   z, h: [n] (may be the same buffer) */
export function reluForward(z: Floats, h: Floats, n: number): void {
  for (let i = 0; i < n; i++) h[i] = z[i] > 0 ? z[i] : 0;
}

/**
 * dz = dh where the unit was active, else 0 (the ReLU mask). h > 0 exactly where z > 0, so the
 * layer's output serves as the mask.   h, dh, dz: [n] (dz may be dh)
 */
export function reluBackward(h: Floats, dh: Floats, dz: Floats, n: number): void {
  for (let i = 0; i < n; i++) dz[i] = h[i] > 0 ? dh[i] : 0;
}
