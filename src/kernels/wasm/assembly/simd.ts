// Small f32x4 helpers shared by the kernel. All are inlined, so the loops that use them keep their
// accumulators in registers.

/**
 * a * b + c. The relaxed build fuses it (one rounding, one instruction); the plain build rounds the
 * product and the sum. Either way the same build on the same machine always gives the same bits.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function zero4(): v128 {
  return f32x4.splat(0);
}

/** max(v, 0) exactly as the reference writes it, `v > 0 ? v : 0`: NaN and -0 become +0. */
// @ts-ignore: decorator
@inline export function relu4(v: v128): v128 {
  return v128.and(v, f32x4.gt(v, f32x4.splat(0)));
}

/** v where mask > 0, else +0 (the ReLU backward: the layer's output is its own mask). */
// @ts-ignore: decorator
@inline export function maskPositive(v: v128, mask: v128): v128 {
  return v128.and(v, f32x4.gt(mask, f32x4.splat(0)));
}

/**
 * [sum(a), sum(b), sum(c), sum(d)], each lane summed as (x0 + x2) + (x1 + x3): the horizontal
 * reduction of four dot-product accumulators in one vector, in a fixed order.
 */
// @ts-ignore: decorator
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7)); // a0+a2 b0+b2 a1+a3 b1+b3
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7)); // c0+c2 d0+d2 c1+c3 d1+d3
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** Byte address of element i of a 4-byte array at p. */
// @ts-ignore: decorator
@inline export function at4(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** A mask of the first `n` lanes (all ones there, zeros in the rest; n <= 0: none, n >= 4: all), for v128.and. */
// @ts-ignore: decorator
@inline export function firstLanes(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

/** Row r of a [rows, stride] buffer of 4-byte elements (f32 or i32). */
// @ts-ignore: decorator
@inline export function rowOf(buf: usize, r: i32, stride: i32): usize {
  return buf + ((<usize>r * <usize>stride) << 2);
}
