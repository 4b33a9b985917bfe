// DP-SGD's Gaussian noise in the kernel: Philox4x32-10 on four counters at once, one in each SIMD
// lane, and Box-Muller in float32. The same function of (seed, step, parameter) as the reference in
// src/privacy/noise.ts, which says how a parameter's counter is made; the values differ from the
// reference's only by float32 rounding (its log, cos and sin are float64).

// Philox's multipliers and key increments (Random123), and the key's second word (NOISE_KEY there).
const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;
const NOISE_KEY: u32 = 0xd9a56e1b;

/** The bytes of scratch normals uses: its four vectors of output, then Philox's two multipliers. */
export const NOISE_SCRATCH: usize = 96;

/** Writes Philox's multipliers, splatted, where normals reads them in its scratch `out`. */
export function setMultipliers(out: usize): void {
  v128.store(out, i32x4.splat(M0), 64);
  v128.store(out, i32x4.splat(M1), 80);
}

/**
 * Four standard normals for each of four counters, the lanes of c0 .. c3: out[w] (a vector at
 * out + 16 w) holds normal w of each lane's call (Box-Muller on the word pairs (0, 1) and (2, 3)).
 * `out` is a scratch of NOISE_SCRATCH bytes that setMultipliers has prepared: the multipliers are
 * read from it because V8 rebuilds a vector constant at each use (three instructions), while a
 * loaded value stays in a register. The ten rounds go two a pass, which halves the loop's own
 * instructions (a counter, a stack check, register moves).
 */
export function normals(c0: v128, c1: v128, c2: v128, c3: v128, seed: u32, out: usize): void {
  const m0 = v128.load(out, 64);
  const m1 = v128.load(out, 80);
  let x0 = c0;
  let x1 = c1;
  let x2 = c2;
  let x3 = c3;
  let k0 = seed;
  let k1 = NOISE_KEY;
  for (let pass = 0; pass < 5; pass++) {
    {
      // the 64-bit products M0 x0 and M1 x2, lane by lane, split into their high and low words
      const a = i64x2.extmul_low_i32x4_u(x0, m0);
      const b = i64x2.extmul_high_i32x4_u(x0, m0);
      const c = i64x2.extmul_low_i32x4_u(x2, m1);
      const d = i64x2.extmul_high_i32x4_u(x2, m1);
      x0 = v128.xor(v128.xor(v128.shuffle<i32>(c, d, 1, 3, 5, 7), x1), i32x4.splat(k0));
      x1 = v128.shuffle<i32>(c, d, 0, 2, 4, 6);
      x2 = v128.xor(v128.xor(v128.shuffle<i32>(a, b, 1, 3, 5, 7), x3), i32x4.splat(k1));
      x3 = v128.shuffle<i32>(a, b, 0, 2, 4, 6);
      k0 += W0;
      k1 += W1;
    }
    {
      // the 64-bit products M0 x0 and M1 x2, lane by lane, split into their high and low words
      const a = i64x2.extmul_low_i32x4_u(x0, m0);
      const b = i64x2.extmul_high_i32x4_u(x0, m0);
      const c = i64x2.extmul_low_i32x4_u(x2, m1);
      const d = i64x2.extmul_high_i32x4_u(x2, m1);
      x0 = v128.xor(v128.xor(v128.shuffle<i32>(c, d, 1, 3, 5, 7), x1), i32x4.splat(k0));
      x1 = v128.shuffle<i32>(c, d, 0, 2, 4, 6);
      x2 = v128.xor(v128.xor(v128.shuffle<i32>(a, b, 1, 3, 5, 7), x3), i32x4.splat(k1));
      x3 = v128.shuffle<i32>(a, b, 0, 2, 4, 6);
      k0 += W0;
      k1 += W1;
    }
  }
  boxMuller(x0, x1, out);
  boxMuller(x2, x3, out + 32);
}

/** Two normals per lane from two uint32 words per lane: r cos θ and r sin θ, r = sqrt(-2 ln U(a)), θ = 2π U(b). */
// @ts-ignore: decorator
@inline function boxMuller(a: v128, b: v128, out: usize): void {
  const r = f32x4.sqrt(f32x4.mul(f32x4.splat(-2), log4(uniform24(a))));
  // sin and cos of 2π u from u's octant, read off the word's bits: u = (v + 1/2) / 2^24 with v its
  // top 24 bits, so 8u = o + t with o = v >> 21 and t = (v mod 2^21 + 1/2) / 2^21 (exact in
  // float32). The angle within the octant is (π/4) t, or (π/4) (1 - t) on odd octants; then sin and
  // cos are swapped and signed by octant. (Integer masks throughout: V8 expands float truncation and
  // comparisons with zero into several instructions each.)
  const o = i32x4.shr_u(b, 29);
  const t = f32x4.mul(f32x4.add(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(b, 8), i32x4.splat(0x1fffff))), f32x4.splat(0.5)), f32x4.splat(<f32>4.76837158203125e-7));
  const odd = i32x4.shr_s(i32x4.shl(o, 31), 31);
  const x = f32x4.mul(v128.bitselect(f32x4.sub(f32x4.splat(1), t), t, odd), f32x4.splat(<f32>(Math.PI / 4)));
  const x2 = f32x4.mul(x, x);
  // Taylor polynomials on [0, π/4]: the first left-out terms are below 2e-9 and 3e-10
  const sinx = f32x4.mul(x, poly5(x2, 1, <f32>(-1.0 / 6), <f32>(1.0 / 120), <f32>(-1.0 / 5040), <f32>(1.0 / 362880)));
  const cosx = poly6(x2, 1, -0.5, <f32>(1.0 / 24), <f32>(-1.0 / 720), <f32>(1.0 / 40320), <f32>(-1.0 / 3628800));
  const swap = i32x4.shr_s(i32x4.shl(i32x4.add(o, i32x4.splat(1)), 30), 31); // octants 1, 2, 5, 6
  const sign = i32x4.splat(0x80000000);
  const sinNeg = v128.and(i32x4.shl(o, 29), sign); // octants 4 .. 7
  const cosNeg = v128.and(i32x4.shl(i32x4.add(o, i32x4.splat(2)), 29), sign); // octants 2 .. 5
  const s = v128.xor(v128.bitselect(cosx, sinx, swap), sinNeg);
  const c = v128.xor(v128.bitselect(sinx, cosx, swap), cosNeg);
  v128.store(out, f32x4.mul(r, c));
  v128.store(out, f32x4.mul(r, s), 16);
}

/**
 * A uint32 in each lane as a uniform in (0, 1): its top 24 bits and a half, over 2^24 (the sum
 * rounded to float32's 24 bits). The top 24 bits fit a signed conversion, which is one instruction.
 */
// @ts-ignore: decorator
@inline function uniform24(u: v128): v128 {
  return f32x4.mul(f32x4.add(f32x4.convert_i32x4_s(i32x4.shr_u(u, 8)), f32x4.splat(0.5)), f32x4.splat(<f32>5.9604644775390625e-8));
}

/**
 * ln x for x in (0, 1] in each lane: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s),
 * s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^9 (the next term is below 4e-10).
 */
// @ts-ignore: decorator
@inline function log4(x: v128): v128 {
  const bits = x;
  let e = i32x4.sub(i32x4.shr_s(bits, 23), i32x4.splat(127));
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(<f32>Math.SQRT2));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // big is -1 where m was halved
  const f = f32x4.sub(m, f32x4.splat(1));
  const s = f32x4.div(f, f32x4.add(f32x4.splat(2), f));
  const s2 = f32x4.mul(s, s);
  const lnm = f32x4.mul(s, poly5(s2, 2, <f32>(2.0 / 3), <f32>(2.0 / 5), <f32>(2.0 / 7), <f32>(2.0 / 9)));
  const ef = f32x4.convert_i32x4_s(e);
  // e ln 2 in two parts (the high part has few bits, so e times it is exact)
  return f32x4.add(f32x4.mul(ef, f32x4.splat(<f32>0.693145751953125)), f32x4.add(f32x4.mul(ef, f32x4.splat(<f32>1.428606765330187e-6)), lnm));
}

/** a + x (b + x (c + x (d + x e))) in each lane. */
// @ts-ignore: decorator
@inline function poly5(x: v128, a: f32, b: f32, c: f32, d: f32, e: f32): v128 {
  let p = f32x4.add(f32x4.splat(d), f32x4.mul(x, f32x4.splat(e)));
  p = f32x4.add(f32x4.splat(c), f32x4.mul(x, p));
  p = f32x4.add(f32x4.splat(b), f32x4.mul(x, p));
  return f32x4.add(f32x4.splat(a), f32x4.mul(x, p));
}

/** a + x (b + x (c + x (d + x (e + x f)))) in each lane. */
// @ts-ignore: decorator
@inline function poly6(x: v128, a: f32, b: f32, c: f32, d: f32, e: f32, f: f32): v128 {
  let p = f32x4.add(f32x4.splat(e), f32x4.mul(x, f32x4.splat(f)));
  p = f32x4.add(f32x4.splat(d), f32x4.mul(x, p));
  p = f32x4.add(f32x4.splat(c), f32x4.mul(x, p));
  p = f32x4.add(f32x4.splat(b), f32x4.mul(x, p));
  return f32x4.add(f32x4.splat(a), f32x4.mul(x, p));
}

/** Transposes the 4 x 4 block of vectors at p in place: lane i of vector w becomes lane w of vector i. */
export function transpose4(p: usize): void {
  const r0 = v128.load(p, 0);
  const r1 = v128.load(p, 16);
  const r2 = v128.load(p, 32);
  const r3 = v128.load(p, 48);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), 0);
  v128.store(p, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(p, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(p, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
}
