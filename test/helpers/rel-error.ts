/** max |a - b| / max |b|: the error of a against the reference b, relative to b's scale. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Central finite differences of f at x (float64), one coordinate at a time. */
export function numericGradient(f: () => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = f();
    x[i] = saved - h;
    const down = f();
    x[i] = saved;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export function randomArray(n: number, rng: () => number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}
