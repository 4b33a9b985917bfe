import type { Floats } from '../nn/types.js';
import type { AdamWStep } from './adamw.js';

/** SGD's hyperparameters, with PyTorch's `optim.SGD` meaning (dampening 0, no Nesterov). */
export interface SgdOptions {
  lr: number;
  /** 0: plain SGD */
  momentum: number;
  /** L2 penalty added to the gradient: g += wd * p */
  weightDecay: number;
}

/**
 * What a step's update does with a slice's summed gradient: add DP-SGD's noise (when noiseStd > 0),
 * divide by meanOver, then SGD or AdamW (Opacus's DPOptimizer, then torch.optim.SGD or AdamW):
 *   g = (sum over the batch of the rows' (clipped) gradients + noiseStd z) / meanOver
 */
export interface UpdateOptions extends SgdOptions {
  /** AdamW's settings for this step (torch.optim.AdamW), or null: SGD. With AdamW, `momentum` is unused and weight decay is decoupled. */
  adamw: AdamWStep | null;
  /** the batch's rows, or under Poisson sampling the expected batch size q N */
  meanOver: number;
  /** σ C, the standard deviation of the noise added to each summed gradient element; 0: none */
  noiseStd: number;
  /** the noise's seed, and the optimizer step it is drawn for (privacy/noise.ts) */
  noiseSeed: number;
  noiseStep: number;
}

/** The lesson's SGD step: p -= lr * g, element by element.   p, g: [n] */
export function sgdStep(p: Float32Array, g: Floats, lr: number): void {
  for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
}

/**
 * SGD on p, given its gradient g (the batch mean), with PyTorch's optim.SGD options; without
 * momentum and weight decay it is the lesson's sgdStep:
 *   g = g + wd * p                  (weight decay, when wd != 0)
 *   buf = momentum * buf + g        (when momentum != 0; buf starts at 0, so the first step's buf = g)
 *   p = p - lr * buf                (or p - lr * g without momentum)
 * Each parameter's result depends on its own values alone, so any slicing of the block gives the same bytes.
 *   p, buf: [n] (views of the parameter block and its momentum buffer; buf needed when momentum != 0), g: [n]
 */
export function sgdUpdate(p: Float32Array, g: Floats, buf: Float32Array | null, o: SgdOptions): void {
  const { lr, momentum, weightDecay } = o;
  if (momentum === 0 && weightDecay === 0) {
    sgdStep(p, g, lr);
    return;
  }
  if (momentum !== 0 && buf === null) throw new Error('SGD with momentum needs a momentum buffer');
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    if (weightDecay !== 0) gi += weightDecay * p[i];
    if (momentum !== 0) {
      buf![i] = momentum * buf![i] + gi;
      gi = buf![i];
    }
    p[i] -= lr * gi;
  }
}
