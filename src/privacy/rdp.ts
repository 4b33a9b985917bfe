/**
 * The privacy accountant of DP-SGD, as Opacus's RDPAccountant computes it.
 *
 * Rényi DP of the sampled Gaussian mechanism (Mironov, Talwar and Zhang, 2019, "Rényi Differential
 * Privacy of the Sampled Gaussian Mechanism", Section 3.3): one step that adds noise of standard
 * deviation σ to a sum of per-sample gradients clipped to norm 1, over a batch in which each row is
 * present with probability q, is (α, log(A_α) / (α - 1))-RDP, with
 *   A_α = sum_{i=0}^{α} C(α, i) (1 - q)^(α - i) q^i exp((i^2 - i) / (2 σ^2))          integer α
 * and, for fractional α, the two-sided series the paper gives (logAFractional). Steps compose by
 * adding their RDP. The conversion to (ε, δ) is Balle, Barthe, Gaboardi, Hsu and Sato, 2020
 * ("Hypothesis testing interpretations and Rényi differential privacy", Theorem 21):
 *   ε = min over α of  RDP(α) + log((α - 1) / α) - (log δ + log α) / (α - 1)
 * All of it in log space, in float64.
 */

/** The orders α Opacus uses by default: 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63. */
export const DEFAULT_ORDERS: readonly number[] = [...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10), ...Array.from({ length: 52 }, (_, x) => 12 + x)];

/** log(e^a + e^b) */
function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

/** log(e^a - e^b), a >= b */
function logSub(a: number, b: number): number {
  if (a < b) throw new RangeError('logSub: the result would be negative');
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  const d = Math.expm1(a - b);
  return d === Infinity ? a : Math.log(d) + b;
}

/** The binomial coefficient C(α, i) for real α and integer i >= 0, as a product. */
function binomial(alpha: number, i: number): number {
  let c = 1;
  for (let k = 0; k < i; k++) c *= (alpha - k) / (k + 1);
  return c;
}

/** log(A_α) for integer α. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    const logCoef = Math.log(binomial(alpha, i)) + i * Math.log(q) + (alpha - i) * Math.log(1 - q);
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/** log(A_α) for fractional α: the series over the two halves of the line, split at z0, until both terms fall below e^-30. */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  for (let i = 0; ; i++) {
    const coef = binomial(alpha, i);
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP of one step at order α: 0 without sampling, ∞ without noise. */
function rdpStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP at each order of `steps` steps of the sampled Gaussian mechanism with sampling rate q and noise multiplier σ. */
export function computeRdp(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number[] {
  return orders.map((alpha) => rdpStep(q, sigma, alpha) * steps);
}

/** (ε, the best order) for δ, from RDP at the orders (Balle et al. 2020, Theorem 21). */
export function privacySpent(rdp: readonly number[], delta: number, orders: readonly number[] = DEFAULT_ORDERS): { epsilon: number; order: number } {
  let best = { epsilon: Infinity, order: NaN };
  orders.forEach((alpha, i) => {
    const eps = rdp[i] - (Math.log(delta) + Math.log(alpha)) / (alpha - 1) + Math.log((alpha - 1) / alpha);
    if (eps < best.epsilon) best = { epsilon: eps, order: alpha };
  });
  return best;
}

/** ε after `steps` steps of DP-SGD with sampling rate q and noise multiplier σ, at δ. */
export function epsilonAfter(q: number, sigma: number, steps: number, delta: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  return privacySpent(computeRdp(q, sigma, steps, orders), delta, orders).epsilon;
}

/**
 * The noise multiplier σ for which `steps` steps at sampling rate q spend at most ε at δ, as Opacus's
 * get_noise_multiplier finds it: double σ from 10 until ε is under the target, then halve the interval
 * [0, σ] until ε is within `tolerance` under the target; returns the upper end (ε never over it).
 */
export function noiseMultiplierFor(targetEpsilon: number, delta: number, q: number, steps: number, tolerance = 0.01): number {
  let lo = 0;
  let hi = 10;
  let epsHi = Infinity;
  while (epsHi > targetEpsilon) {
    hi *= 2;
    epsHi = epsilonAfter(q, hi, steps, delta);
    if (hi > 1e6) throw new RangeError(`no noise multiplier up to 1e6 gives ε ${targetEpsilon} at δ ${delta}: the privacy budget is too low`);
  }
  while (targetEpsilon - epsHi > tolerance) {
    const mid = (lo + hi) / 2;
    const eps = epsilonAfter(q, mid, steps, delta);
    if (eps < targetEpsilon) {
      hi = mid;
      epsHi = eps;
    } else {
      lo = mid;
    }
  }
  return hi;
}

/**
 * log(erfc(x)), accurate where erfc(x) underflows: erfc by its Taylor series for |x| < 2, by its
 * continued fraction (in log space) beyond, erfc(-x) = 2 - erfc(x).
 */
export function logErfc(x: number): number {
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 2) return Math.log(1 - erf(x));
  // erfc(x) = exp(-x^2) / sqrt(π) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...))))), by Lentz's method
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    c = x + a / (Math.abs(c) < tiny ? tiny : c);
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** erf(x) for |x| < 2 by its Taylor series 2/sqrt(π) sum_n (-1)^n x^(2n+1) / (n! (2n+1)), to double precision. */
function erf(x: number): number {
  let term = x;
  let sum = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const t = term / (2 * n + 1);
    sum += t;
    if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
