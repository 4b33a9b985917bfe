import { describe, expect, it } from 'vitest';
import { GaussianNoise, philox4x32, uniform24 } from '../src/privacy/noise.js';
import { DEFAULT_ORDERS, computeRdp, epsilonAfter, logErfc, noiseMultiplierFor, privacySpent } from '../src/privacy/rdp.js';

describe('the RDP accountant, against Opacus\'s published values', () => {
  it('ε of 2,250 steps at q 0.04, σ 1.5, δ 1e-5 is 7.32911117143 (opacus/tests/accountants_test.py: its default orders, fractional ones among them)', () => {
    expect(epsilonAfter(0.04, 1.5, 2250, 1e-5)).toBeCloseTo(7.32911117143, 9);
  });

  it('(0.336, 23) for [(q 1e-5, σ 1, 10 steps), (q 1e-4, σ 3, 4 steps)] at δ 1e-5, integer orders 2 to 32 (opacus/accountants/analysis/rdp.py)', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const a = computeRdp(1e-5, 1.0, 10, orders);
    const b = computeRdp(1e-4, 3.0, 4, orders);
    const { epsilon, order } = privacySpent(a.map((v, i) => v + b[i]), 1e-5, orders);
    expect(epsilon).toBeCloseTo(0.336, 3);
    expect(order).toBe(23);
  });

  it('finds the noise multiplier for a target ε as get_noise_multiplier does: 1.416 for 90 epochs at q 0.04, 1.3562 for 2,000 steps', () => {
    expect(noiseMultiplierFor(8, 1e-5, 0.04, Math.trunc(90 / 0.04))).toBeCloseTo(1.416, 4);
    const sigma = noiseMultiplierFor(8, 1e-5, 0.04, 2000);
    expect(sigma).toBeCloseTo(1.3562, 4);
    // never over the target, within the tolerance under it
    const eps = epsilonAfter(0.04, sigma, 2000, 1e-5);
    expect(eps).toBeLessThanOrEqual(8);
    expect(eps).toBeGreaterThan(8 - 0.01);
  });

  it('has Opacus\'s default orders, and the extremes: no sampling spends nothing, no noise everything, q = 1 is the Gaussian mechanism', () => {
    expect(DEFAULT_ORDERS).toHaveLength(99 + 52);
    expect(DEFAULT_ORDERS.slice(0, 3)).toEqual([1.1, 1.2, 1.3]);
    expect(DEFAULT_ORDERS.slice(-2)).toEqual([62, 63]);
    expect(computeRdp(0, 1, 100, [2, 3])).toEqual([0, 0]);
    expect(computeRdp(0.1, 0, 1, [2])).toEqual([Infinity]);
    expect(computeRdp(1, 2, 3, [4])[0]).toBeCloseTo((3 * 4) / (2 * 4), 12);
    // more steps spend more, more noise less
    expect(epsilonAfter(0.01, 1, 2000, 1e-5)).toBeGreaterThan(epsilonAfter(0.01, 1, 1000, 1e-5));
    expect(epsilonAfter(0.01, 2, 1000, 1e-5)).toBeLessThan(epsilonAfter(0.01, 1, 1000, 1e-5));
  });

  it('computes log erfc to double precision, where erfc underflows too', () => {
    for (const [x, erfc] of [
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047266],
      [3, 2.209049699858544e-5],
      [5, 1.5374597944280349e-12],
      [10, 2.088487583762545e-45],
      [-1, 1.8427007929497148],
    ]) {
      expect(Math.abs(logErfc(x) - Math.log(erfc))).toBeLessThan(1e-14 * Math.max(1, Math.abs(Math.log(erfc))));
    }
    // erfc(30) is 2.56e-393, below the smallest double: its log is still right (its asymptotic series)
    expect(logErfc(30)).toBeCloseTo(-900 - Math.log(30 * Math.sqrt(Math.PI)) - 1 / 1800 + 5 / (8 * 30 ** 4), 8);
  });
});

describe('the noise generator', () => {
  it('is Philox4x32-10: Random123\'s known answers', () => {
    const out = new Uint32Array(4);
    const hex = () => Array.from(out, (w) => w.toString(16).padStart(8, '0')).join(' ');
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(hex()).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect(hex()).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(hex()).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  it('gives standard normals: mean, variance and tails of 100,000 draws', () => {
    const g = new GaussianNoise(7);
    const z = new Float64Array(4);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (let i = 0; i < n / 4; i++) {
      g.normals4(i, 1, 2, 3, z);
      for (const v of z) {
        sum += v;
        sq += v * v;
        if (Math.abs(v) > 2) beyond2++;
      }
    }
    expect(Math.abs(sum / n)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(sq / n - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.004); // P(|z| > 2) = 4.55%
  });

  it('keys each parameter by seed, step and place: rows of W in pieces give the same normals as whole', () => {
    const g = new GaussianNoise(11);
    const whole = new Float64Array(30);
    g.weights(5, 1, 3, 0, 30, whole);
    const piece = new Float64Array(30);
    g.weights(5, 1, 3, 7, 19, piece);
    expect(Array.from(piece.subarray(0, 12))).toEqual(Array.from(whole.subarray(7, 19)));
    const other = new Float64Array(30);
    g.weights(6, 1, 3, 0, 30, other);
    expect(other.some((v, i) => v !== whole[i])).toBe(true);
    expect(uniform24(0)).toBeGreaterThan(0);
    expect(uniform24(0xffffffff)).toBeLessThan(1);
  });
});
