import type { MlpLayout } from '../model/layout.js';
import { Mlp } from '../nn/mlp.js';
import type { Kernel, KernelName } from './kernel.js';

/** A kernel with scratch for chunks of up to maxRows samples (one per thread). */
export function createKernel(name: KernelName, layout: MlpLayout, maxRows: number): Kernel {
  switch (name) {
    case 'js':
      return new Mlp(layout, maxRows);
  }
}
