// exp and log in float64, for the softmax and cross-entropy.
//
// Why not AssemblyScript's Math: at -O3 its exp and log use lookup tables that asc places in an
// active data segment, and a data segment of a module that imports a SHARED memory is written into
// that memory again by every instantiation, i.e. over the arena's bytes, once per thread. These are
// musl's table-free versions (musl/src/math/exp.c and log.c, from FreeBSD/fdlibm:
// "Copyright (C) 2004 by Sun Microsystems, Inc. All rights reserved. Permission to use, copy, modify,
// and distribute this software is freely granted, provided that this notice is preserved."),
// as AssemblyScript's std/assembly/math.ts carries them for its shrink levels >= 1.

// @ts-ignore: decorator
@inline const LN2_HI = reinterpret<f64>(0x3fe62e42fee00000); // 6.93147180369123816490e-01
// @ts-ignore: decorator
@inline const LN2_LO = reinterpret<f64>(0x3dea39ef35793c76); // 1.90821492927058770002e-10

/** e^x, correctly rounded to within 1 ulp; 0 below -745.13, +inf above 709.78, NaN for NaN. */
export function exp64(x: f64): f64 {
  const invln2 = reinterpret<f64>(0x3ff71547652b82fe); // 1.44269504088896338700e+00
  const P1 = reinterpret<f64>(0x3fc555555555553e); // 1.66666666666666019037e-01
  const P2 = reinterpret<f64>(0xbf66c16c16bebd93); // -2.77777777770155933842e-03
  const P3 = reinterpret<f64>(0x3f11566aaf25de2c); // 6.61375632143793436117e-05
  const P4 = reinterpret<f64>(0xbebbbd41c5d26bf1); // -1.65339022054652515390e-06
  const P5 = reinterpret<f64>(0x3e66376972bea4d0); // 4.13813679705723846039e-08
  const overflow = reinterpret<f64>(0x40862e42fefa39ef); // 709.782712893383973096
  const underflow = reinterpret<f64>(0xc0874910d52d3051); // -745.13321910194110842
  const Ox1p1023 = reinterpret<f64>(0x7fe0000000000000);

  let hx = <u32>(reinterpret<u64>(x) >> 32);
  const sign = <i32>(hx >> 31);
  hx &= 0x7fffffff;
  if (hx >= 0x4086232b) {
    // |x| >= 708.39, or NaN
    if (isNaN(x)) return x;
    if (x > overflow) return x * Ox1p1023;
    if (x < underflow) return 0;
  }
  // x = k ln2 + r, |r| <= ln2 / 2, r = hi - lo for extra precision
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx > 0x3fd62e42) {
    // |x| > 0.5 ln2
    if (hx >= 0x3ff0a2b2) k = <i32>(invln2 * x + copysign<f64>(0.5, x));
    else k = 1 - (sign << 1);
    hi = x - <f64>k * LN2_HI;
    lo = <f64>k * LN2_LO;
    x = hi - lo;
  } else if (hx > 0x3e300000) {
    // |x| > 2^-28
    hi = x;
  } else {
    return 1.0 + x;
  }
  // e^r by a rational approximation, then scaled by 2^k
  const xs = x * x;
  const xq = xs * xs;
  const c = x - (xs * P1 + xq * (P2 + xs * P3 + xq * (P4 + xs * P5)));
  const y = 1.0 + ((x * c) / (2 - c) - lo + hi);
  return k == 0 ? y : scalbn(y, k);
}

/** The natural logarithm: -inf at 0, NaN below 0, exact 0 at 1. */
export function log64(x: f64): f64 {
  const Lg1 = reinterpret<f64>(0x3fe5555555555593); // 6.666666666666735130e-01
  const Lg2 = reinterpret<f64>(0x3fd999999997fa04); // 3.999999999940941908e-01
  const Lg3 = reinterpret<f64>(0x3fd2492494229359); // 2.857142874366239149e-01
  const Lg4 = reinterpret<f64>(0x3fcc71c51d8e78af); // 2.222219843214978396e-01
  const Lg5 = reinterpret<f64>(0x3fc7466496cb03de); // 1.818357216161805012e-01
  const Lg6 = reinterpret<f64>(0x3fc39a09d078c69f); // 1.531383769920937332e-01
  const Lg7 = reinterpret<f64>(0x3fc2f112df3e5244); // 1.479819860511658591e-01
  const Ox1p54 = reinterpret<f64>(0x4350000000000000);

  let u = reinterpret<u64>(x);
  let hx = <u32>(u >> 32);
  let k: i32 = 0;
  if (hx >> 31 != 0 || hx < 0x00100000) {
    if (u << 1 == 0) return -1 / (x * x); // log(+-0) = -inf
    if (hx >> 31 != 0) return (x - x) / 0.0; // log(x < 0) = NaN
    // subnormal: scale up
    k -= 54;
    x *= Ox1p54;
    u = reinterpret<u64>(x);
    hx = <u32>(u >> 32);
  } else if (hx >= 0x7ff00000) {
    return x; // inf or NaN
  } else if (hx == 0x3ff00000 && u << 32 == 0) {
    return 0;
  }
  // x = 2^k (1 + f), sqrt(2)/2 < 1 + f < sqrt(2)
  hx += 0x3ff00000 - 0x3fe6a09e;
  k += <i32>(hx >> 20) - 0x3ff;
  hx = (hx & 0x000fffff) + 0x3fe6a09e;
  u = (<u64>hx << 32) | (u & 0xffffffff);
  x = reinterpret<f64>(u);
  const f = x - 1.0;
  const hfsq = 0.5 * f * f;
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const r = t2 + t1;
  const dk = <f64>k;
  return s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI;
}

/** x * 2^n without overflow in the intermediate steps (musl's scalbn). */
function scalbn(x: f64, n: i32): f64 {
  const Ox1p53 = reinterpret<f64>(0x4340000000000000);
  const Ox1p1023 = reinterpret<f64>(0x7fe0000000000000);
  const Ox1p_1022 = reinterpret<f64>(0x0010000000000000);
  let y = x;
  if (n > 1023) {
    y *= Ox1p1023;
    n -= 1023;
    if (n > 1023) {
      y *= Ox1p1023;
      n = min<i32>(n - 1023, 1023);
    }
  } else if (n < -1022) {
    // keep the final n below -53 to avoid double rounding in the subnormal range
    y *= Ox1p_1022 * Ox1p53;
    n += 1022 - 53;
    if (n < -1022) {
      y *= Ox1p_1022 * Ox1p53;
      n = max<i32>(n + 1022 - 53, -1022);
    }
  }
  return y * reinterpret<f64>(<u64>(0x3ff + n) << 52);
}
