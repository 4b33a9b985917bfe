import type { Floats } from '../nn/types.js';

/**
 * AdamW, as PyTorch's torch.optim.AdamW (1.13, single-tensor, amsgrad off) does a step t (from 1):
 *   p = p * (1 - lr * wd)                                  decoupled weight decay
 *   m = beta1 * m + (1 - beta1) * g                        exp_avg
 *   v = beta2 * v + (1 - beta2) * g * g                    exp_avg_sq
 *   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The scalars (1 - lr wd, the step size, sqrt(1 - beta2^t)) are computed once a step in float64, as
 * PyTorch computes them in Python floats; the rest is float32, element by element, in the order of
 * PyTorch's CPU kernels (mul_ then add_ with alpha; addcmul_ as (value * g) * g; addcdiv_ as
 * (value * m) / denom).
 */

export const OPTIMIZERS = ['sgd', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** torch.optim.AdamW's defaults (fastai's Adam too): betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

/** An optimizer's AdamW settings: PyTorch's betas and eps for 'adamw', none for SGD. */
export function adamwBetas(opt: OptimizerName): Omit<AdamWStep, 't'> | undefined {
  return opt === 'adamw' ? { beta1: ADAMW_DEFAULTS.beta1, beta2: ADAMW_DEFAULTS.beta2, eps: ADAMW_DEFAULTS.eps } : undefined;
}

/** The settings of one AdamW step. */
export interface AdamWStep {
  beta1: number;
  beta2: number;
  eps: number;
  /** the step number t, from 1 (bias correction) */
  t: number;
}

/** The per-step scalars of the update, from lr, weight decay and the step's settings (float64). */
export interface AdamWScalars {
  /** 1 - lr * wd */
  decay: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: number;
}

export function adamwScalars(lr: number, weightDecay: number, a: AdamWStep): AdamWScalars {
  return { decay: 1 - lr * weightDecay, stepSize: lr / (1 - a.beta1 ** a.t), bc2Sqrt: Math.sqrt(1 - a.beta2 ** a.t) };
}

/** What one AdamW step takes besides the tensors: the lr and weight decay, and the step's settings. */
export interface AdamWOptions {
  lr: number;
  weightDecay: number;
  adamw: AdamWStep;
}

/**
 * One AdamW step on p from its gradient g (the batch mean), in float32 as PyTorch does it; m and v
 * are p's moments. Each parameter's result depends on its own values alone, so any slicing of the
 * block gives the same bytes.
 *   p, m, v: [n] (views of the parameter block and its moment buffers), g: [n]
 */
export function adamwStep(p: Float32Array, g: Floats, m: Float32Array, v: Float32Array, o: AdamWOptions): void {
  const f = Math.fround;
  const a = o.adamw;
  const s = adamwScalars(o.lr, o.weightDecay, a);
  const decay = f(s.decay);
  const stepSize = f(s.stepSize);
  const bc2Sqrt = f(s.bc2Sqrt);
  const b1 = f(a.beta1);
  const b2 = f(a.beta2);
  const c1 = f(1 - a.beta1);
  const c2 = f(1 - a.beta2);
  const eps = f(a.eps);
  for (let i = 0; i < p.length; i++) {
    const gi = f(g[i]);
    const w = o.weightDecay !== 0 ? f(p[i] * decay) : p[i];
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(c2 * gi) * gi));
    m[i] = mi;
    v[i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps);
    p[i] = f(w - f(f(stepSize * mi) / denom));
  }
}
