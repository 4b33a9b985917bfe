/**
 * The Gaussian noise of DP-SGD, from a counter-based generator: each parameter's noise at a step is a
 * pure function of (seed, step, the parameter's place in the model), so it is the same bytes
 * whichever thread draws which slice, and a resumed run draws what the uninterrupted one would have.
 *
 * Philox4x32-10 (Salmon, Moraes, Dror and Shaw, 2011, "Parallel random numbers: as easy as 1, 2, 3")
 * turns a 128-bit counter and a 64-bit key into four uint32 words; Box-Muller turns each pair of
 * them into two standard normals. A parameter's counter is
 *   W_l[j, k]:  (k >> 2, j, 2 l,     step),  its normal the (k & 3)-th of the four
 *   b_l[j]:     (j >> 2, 0, 2 l + 1, step),  its normal the (j & 3)-th
 * so four neighbours along a row share one call (the wasm kernel draws them four calls at a time in
 * SIMD lanes: src/kernels/wasm/assembly/noise.ts computes the same values with float32 polynomials;
 * this file is the reference, with Math.log, Math.cos and Math.sin).
 */

/** Philox's multipliers and key increments (Random123). */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
/** The key's second word: the seed's first is the run's seed; this keeps DP noise apart from other uses of it. */
export const NOISE_KEY = 0xd9a56e1b;

/** The high 32 bits of the 64-bit product of two uint32. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lo = al * bl;
  const mid1 = ah * bl;
  const mid2 = al * bh;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (ah * bh + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1): four uint32 words into `out`. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** A uint32 as a uniform in (0, 1): its top 24 bits and a half, over 2^24 (exact in float32). */
export function uniform24(u: number): number {
  return ((u >>> 8) + 0.5) / 16777216;
}

/**
 * The DP noise of a run: standard normals by parameter and step (scale them by σ·C). It keeps its own
 * scratch, so each thread makes its own.
 */
export class GaussianNoise {
  private readonly words = new Uint32Array(4);
  private readonly quad = new Float64Array(4);

  constructor(readonly seed: number) {}

  /**
   * Four standard normals from one Philox call, by Box-Muller on the word pairs (0, 1) and (2, 3):
   *   z0 = r cos(θ), z1 = r sin(θ), with r = sqrt(-2 ln U(w0)), θ = 2π U(w1)   (likewise z2, z3)
   */
  normals4(c0: number, c1: number, c2: number, c3: number, out: Float64Array): void {
    const w = this.words;
    philox4x32(c0, c1, c2, c3, this.seed, NOISE_KEY, w);
    for (let p = 0; p < 2; p++) {
      const r = Math.sqrt(-2 * Math.log(uniform24(w[2 * p])));
      const theta = 2 * Math.PI * uniform24(w[2 * p + 1]);
      out[2 * p] = r * Math.cos(theta);
      out[2 * p + 1] = r * Math.sin(theta);
    }
  }

  /** The normals of weights W_l[j, k0 .. k1) at `step` into out[0 .. k1 - k0): one Philox call per four inputs. */
  weights(step: number, layer: number, j: number, k0: number, k1: number, out: Float64Array): void {
    this.rowNormals(step, 2 * layer, j, k0, k1, out);
  }

  /** The normals of biases b_l[j0 .. j1) at `step` into out[0 .. j1 - j0). */
  biases(step: number, layer: number, j0: number, j1: number, out: Float64Array): void {
    this.rowNormals(step, 2 * layer + 1, 0, j0, j1, out);
  }

  /** The normals of elements [i0, i1) of a row (tensor `tensor`, row `row`) into out[0 .. i1 - i0), four to a Philox call. */
  private rowNormals(step: number, tensor: number, row: number, i0: number, i1: number, out: Float64Array): void {
    const z = this.quad;
    for (let i = i0; i < i1; ) {
      this.normals4(i >>> 2, row, tensor, step, z);
      for (let w = i & 3; w < 4 && i < i1; w++, i++) out[i - i0] = z[w];
    }
  }
}
