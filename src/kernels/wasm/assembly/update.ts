// The update of a run of parameters from their gradient summed over the batch, as PyTorch's
// optim.SGD (dampening 0) on the batch mean:
//   g = sum / meanOver;  g = g + wd * w (wd != 0);  buf = momentum * buf + g, g = buf (momentum != 0);  w = w - lr * g
// or as its optim.AdamW (src/optim/adamw.ts, the reference, gives the order of the float32 operations):
//   g = sum / meanOver;  w = w * decay (wd != 0);  m = beta1 m + c1 g;  v = beta2 v + (c2 g) g;
//   w = w - (stepSize m) / (sqrt(v) / bc2Sqrt + eps)
// Every lane does what the scalar form does, in the same order, so a parameter's new value does not
// depend on which slice holds it.

/** The step's optimizer settings, written by updateSlice (index.ts) into the thread's scratch. */
@unmanaged
export class Sgd {
  /** what the summed gradient is divided by: the batch's rows, or DP-SGD's expected batch size */
  meanOver: f32;
  lr: f32;
  momentum: f32;
  wd: f32;
  /** DP-SGD: the noise's standard deviation (σ C; 0: none), the seed and the step it is drawn for */
  noiseStd: f32;
  seed: u32;
  noiseStep: u32;
  /** bytes from a parameter to its momentum buffer entry (momentum != 0), or to AdamW's first moment */
  toBuf: usize;
  /** 1: AdamW (setAdamW), with the fields below; 0: SGD */
  adamw: u32;
  beta1: f32;
  /** 1 - beta1, as the caller rounded it from float64 */
  c1: f32;
  beta2: f32;
  /** 1 - beta2 */
  c2: f32;
  eps: f32;
  /** lr / (1 - beta1^t) */
  stepSize: f32;
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: f32;
  /** 1 - lr wd */
  decay: f32;
  /** bytes from a parameter to AdamW's second moment */
  toBuf2: usize;
}

/** SGD on one vector of parameters at p from the sum of their per-row gradients. */
// @ts-ignore: decorator
@inline export function step4(o: Sgd, p: usize, sum: v128): void {
  let g = f32x4.div(sum, f32x4.splat(o.meanOver));
  if (o.adamw != 0) {
    adamw4(o, p, g);
    return;
  }
  const w = v128.load(p);
  if (o.wd != 0) g = f32x4.add(g, f32x4.mul(f32x4.splat(o.wd), w));
  if (o.momentum != 0) {
    const b = p + o.toBuf;
    g = f32x4.add(f32x4.mul(f32x4.splat(o.momentum), v128.load(b)), g);
    v128.store(b, g);
  }
  v128.store(p, f32x4.sub(w, f32x4.mul(f32x4.splat(o.lr), g)));
}

/** step4 for one parameter. */
// @ts-ignore: decorator
@inline export function step1(o: Sgd, p: usize, sum: f32): void {
  let g = sum / o.meanOver;
  if (o.adamw != 0) {
    adamw1(o, p, g);
    return;
  }
  const w = load<f32>(p);
  if (o.wd != 0) g = g + o.wd * w;
  if (o.momentum != 0) {
    const b = p + o.toBuf;
    g = o.momentum * load<f32>(b) + g;
    store<f32>(b, g);
  }
  store<f32>(p, w - o.lr * g);
}

/** AdamW on one vector of parameters at p from their mean gradient g. */
// @ts-ignore: decorator
@inline function adamw4(o: Sgd, p: usize, g: v128): void {
  let w = v128.load(p);
  if (o.wd != 0) w = f32x4.mul(w, f32x4.splat(o.decay));
  const pm = p + o.toBuf;
  const pv = p + o.toBuf2;
  const m = f32x4.add(f32x4.mul(v128.load(pm), f32x4.splat(o.beta1)), f32x4.mul(g, f32x4.splat(o.c1)));
  const v = f32x4.add(f32x4.mul(v128.load(pv), f32x4.splat(o.beta2)), f32x4.mul(f32x4.mul(f32x4.splat(o.c2), g), g));
  v128.store(pm, m);
  v128.store(pv, v);
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(v), f32x4.splat(o.bc2Sqrt)), f32x4.splat(o.eps));
  v128.store(p, f32x4.sub(w, f32x4.div(f32x4.mul(f32x4.splat(o.stepSize), m), denom)));
}

/** adamw4 for one parameter. */
// @ts-ignore: decorator
@inline function adamw1(o: Sgd, p: usize, g: f32): void {
  let w = load<f32>(p);
  if (o.wd != 0) w = w * o.decay;
  const pm = p + o.toBuf;
  const pv = p + o.toBuf2;
  const m = load<f32>(pm) * o.beta1 + g * o.c1;
  const v = load<f32>(pv) * o.beta2 + o.c2 * g * g;
  store<f32>(pm, m);
  store<f32>(pv, v);
  const denom = Mathf.sqrt(v) / o.bc2Sqrt + o.eps;
  store<f32>(p, w - (o.stepSize * m) / denom);
}

/**
 * step4 over `bytes` (a multiple of 16) of parameters at p, their sums at acc. Plain SGD, the common
 * case, has a loop of its own with the settings in registers and four vectors a trip: it is bound by
 * the divisions and the memory traffic, not by its few other operations.
 */
export function stepRun(o: Sgd, p: usize, acc: usize, bytes: usize): void {
  let i: usize = 0;
  if (o.momentum == 0 && o.wd == 0 && o.adamw == 0) {
    const rows4 = f32x4.splat(o.meanOver);
    const lr4 = f32x4.splat(o.lr);
    for (; i + 64 <= bytes; i += 64) {
      const a = acc + i;
      const w = p + i;
      v128.store(w, f32x4.sub(v128.load(w, 0), f32x4.mul(lr4, f32x4.div(v128.load(a, 0), rows4))), 0);
      v128.store(w, f32x4.sub(v128.load(w, 16), f32x4.mul(lr4, f32x4.div(v128.load(a, 16), rows4))), 16);
      v128.store(w, f32x4.sub(v128.load(w, 32), f32x4.mul(lr4, f32x4.div(v128.load(a, 32), rows4))), 32);
      v128.store(w, f32x4.sub(v128.load(w, 48), f32x4.mul(lr4, f32x4.div(v128.load(a, 48), rows4))), 48);
    }
  }
  for (; i < bytes; i += 16) step4(o, p + i, v128.load(acc + i));
}
