// The batch-mean SGD update over a slice of the parameters, in f32x4 lanes. Every lane does exactly
// what the scalar tail does, in the same order, so a parameter's new value does not depend on where
// a slice boundary falls (the slices follow the thread count; the result must not).

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
