// The batch-mean SGD update over a slice of the parameters, in f32x4 lanes. Every lane does exactly
// what the scalar tail does, in the same order, so a parameter's new value does not depend on where
// a slice boundary falls (the slices follow the thread count; the result must not).
//
// The update reads nChunks + 1 blocks of P floats and writes one: it is bound by memory, not by its
// few operations. So the loops are specialised (plain SGD, or with momentum / weight decay) rather
// than testing the options per element, and take 16 floats at a time: four independent vectors per
// iteration and per slot, fewer loop trips over the slots.

/**
 * For p in [lo, hi), as PyTorch's optim.SGD with dampening 0:
 *   g = (slots[0][p] + slots[1][p] + ... + slots[nChunks-1][p]) / batchSize   (chunk order)
 *   g = g + wd * params[p]                    when wd != 0
 *   buf[p] = momentum * buf[p] + g; g = buf[p] when momentum != 0
 *   params[p] = params[p] - lr * g
 *   params, buf: [P], slots: [nChunks, P] (byte addresses)
 */
export function sgdUpdate(params: usize, slots: usize, buf: usize, P: i32, nChunks: i32, batchSize: f32, lr: f32, momentum: f32, wd: f32, lo: i32, hi: i32): void {
  const stride = <usize>P << 2;
  let p = lo;
  if (momentum == 0 && wd == 0) {
    p = plainBlocks(params, slots, stride, nChunks, batchSize, lr, lo, hi);
  } else {
    p = fullBlocks(params, slots, buf, stride, nChunks, batchSize, lr, momentum, wd, lo, hi);
  }
  for (; p < hi; p++) {
    const off = <usize>p << 2;
    let g = load<f32>(slots + off);
    for (let c = 1; c < nChunks; c++) g = g + load<f32>(slots + <usize>c * stride + off);
    g = g / batchSize;
    const w = load<f32>(params + off);
    if (wd != 0) g = g + wd * w;
    if (momentum != 0) {
      g = momentum * load<f32>(buf + off) + g;
      store<f32>(buf + off, g);
    }
    store<f32>(params + off, w - lr * g);
  }
}

/** params -= lr * (sum of the slots) / batchSize over whole 16-float blocks from lo; returns where they end. */
function plainBlocks(params: usize, slots: usize, stride: usize, nChunks: i32, batchSize: f32, lr: f32, lo: i32, hi: i32): i32 {
  const bs4 = f32x4.splat(batchSize);
  const lr4 = f32x4.splat(lr);
  let p = lo;
  for (; p + 16 <= hi; p += 16) {
    const off = <usize>p << 2;
    let s = slots + off;
    let g0 = v128.load(s, 0);
    let g1 = v128.load(s, 16);
    let g2 = v128.load(s, 32);
    let g3 = v128.load(s, 48);
    for (let c = 1; c < nChunks; c++) {
      s += stride;
      g0 = f32x4.add(g0, v128.load(s, 0));
      g1 = f32x4.add(g1, v128.load(s, 16));
      g2 = f32x4.add(g2, v128.load(s, 32));
      g3 = f32x4.add(g3, v128.load(s, 48));
    }
    const w = params + off;
    v128.store(w, f32x4.sub(v128.load(w, 0), f32x4.mul(lr4, f32x4.div(g0, bs4))), 0);
    v128.store(w, f32x4.sub(v128.load(w, 16), f32x4.mul(lr4, f32x4.div(g1, bs4))), 16);
    v128.store(w, f32x4.sub(v128.load(w, 32), f32x4.mul(lr4, f32x4.div(g2, bs4))), 32);
    v128.store(w, f32x4.sub(v128.load(w, 48), f32x4.mul(lr4, f32x4.div(g3, bs4))), 48);
  }
  return p;
}

/** The update with weight decay and momentum (either may be 0) over whole 4-float vectors from lo; returns where they end. */
function fullBlocks(params: usize, slots: usize, buf: usize, stride: usize, nChunks: i32, batchSize: f32, lr: f32, momentum: f32, wd: f32, lo: i32, hi: i32): i32 {
  const bs4 = f32x4.splat(batchSize);
  const lr4 = f32x4.splat(lr);
  const m4 = f32x4.splat(momentum);
  const wd4 = f32x4.splat(wd);
  let p = lo;
  for (; p + 4 <= hi; p += 4) {
    const off = <usize>p << 2;
    let g = v128.load(slots + off);
    for (let c = 1; c < nChunks; c++) g = f32x4.add(g, v128.load(slots + <usize>c * stride + off));
    g = f32x4.div(g, bs4);
    const w = v128.load(params + off);
    if (wd != 0) g = f32x4.add(g, f32x4.mul(wd4, w));
    if (momentum != 0) {
      g = f32x4.add(f32x4.mul(m4, v128.load(buf + off)), g);
      v128.store(buf + off, g);
    }
    v128.store(params + off, f32x4.sub(w, f32x4.mul(lr4, g)));
  }
  return p;
}
