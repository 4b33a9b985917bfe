import type { Rng } from '../rng.js';
import type { MlpLayout } from './layout.js';

export type InitScheme = 'kaiming' | 'normal';
export const INIT_SCHEMES: readonly InitScheme[] = ['kaiming', 'normal'];

/**
 * Fills the parameter block, tensor by tensor in layout order.
 * - kaiming: W ~ N(0, 1) * sqrt(gain / nIn), b = 0, with gain 2 for a layer that a ReLU follows and 1
 *   for the output layer: this keeps each layer's activations at about unit variance (He et al. 2015).
 * - normal: the lesson's unscaled `torch.randn` for weights and biases alike.
 */
export function initParams(params: Float32Array, layout: MlpLayout, scheme: InitScheme, rng: Rng): void {
  const last = layout.linears.length - 1;
  layout.linears.forEach((lin, l) => {
    const std = scheme === 'kaiming' ? Math.sqrt((l < last ? 2 : 1) / lin.nIn) : 1;
    const w = params.subarray(lin.weight.offset, lin.weight.offset + lin.weight.length);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    const b = params.subarray(lin.bias.offset, lin.bias.offset + lin.bias.length);
    for (let i = 0; i < b.length; i++) b[i] = scheme === 'kaiming' ? 0 : rng.normal();
  });
}
