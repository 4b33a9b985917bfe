/**
 * The learning rates fastai's lr_find suggests from a finished sweep: `valley` (its default),
 * `minimum` and `steep`, ported line for line from fastai 2.7's fastai/callback/schedule.py,
 * together with what `Learner.lr_find` does to the recorded lists before calling them.
 *
 * `Learner.lr_find` hands the suggestion functions
 *   lrs, losses = tensor(recorder.lrs[num_it//10:-5]), tensor(recorder.losses[num_it//10:-5])
 * cut before the first NaN loss, if any. fastai's `tensor()` turns the lists into float32
 * tensors, so both arrive here as Float32Array and the arithmetic on them rounds as float32 does.
 * Each function returns the suggested lr and the (lr, loss) point that fastai's plot marks.
 */

const f32 = Math.fround;

export type SuggestionName = 'valley' | 'minimum' | 'steep';

export interface LrSuggestion {
  name: SuggestionName;
  /** the suggested learning rate */
  lr: number;
  /** where plot_lr_find marks it: a recorded (lr, smoothed loss); for `minimum` the loss minimum, at 10 × lr */
  point: { lr: number; loss: number };
}

/** The recorded sweep as the suggestion functions receive it, both [n] float32. */
export interface SuggestionInputs {
  lrs: Float32Array;
  losses: Float32Array;
}

/**
 * `Learner.lr_find`'s preparation: the slice [num_it//10 : -5] of both lists (Python's slice
 * rules: a start past the end or a stop below the start gives nothing), then both cut before the
 * first NaN loss. `numIt` is lr_find's num_it as asked, not the one LRFinder raises to 6.
 * `lrs`, `losses`: [iterations recorded], LrFinder's lists.
 */
export function suggestionInputs(lrs: readonly number[], losses: readonly number[], numIt: number): SuggestionInputs {
  if (lrs.length !== losses.length) throw new RangeError(`${lrs.length} lrs but ${losses.length} losses`);
  const start = Math.min(Math.floor(numIt / 10), lrs.length);
  let stop = Math.max(lrs.length - 5, 0);
  const firstNan = losses.slice(start, stop).findIndex((v) => Number.isNaN(v));
  if (firstNan >= 0) stop = start + firstNan;
  if (stop < start) stop = start;
  return { lrs: Float32Array.from(lrs.slice(start, stop)), losses: Float32Array.from(losses.slice(start, stop)) };
}

/**
 * `valley`: the longest valley, found as the longest strictly decreasing subsequence of the losses
 * (lds[i]: its length ending at i; the first i to reach the longest length is max_end), and the
 * point int(L/3) + int(L/6) past max_start, where L = max_end - max_start. A literal port, quirks
 * included: max_start is `max_end - lds[max_end]`, one before the valley's first index, so it is
 * -1 for a valley that starts at index 0, and an index of -1 is Python's last element (a valley of
 * 2 points from index 0 suggests the last lr). Losses that never fall give index 0. With a single
 * loss it is that loss's lr; with none, fastai raises an IndexError, and this returns null.
 */
export function valley(lrs: Float32Array, losses: Float32Array): LrSuggestion | null {
  const n = losses.length;
  if (n === 0) return null;
  let maxStart = 0;
  let maxEnd = 0;
  const lds = new Array<number>(n).fill(1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = pyIndex(maxStart + Math.trunc(sections) + Math.trunc(sections / 2), n);
  return { name: 'valley', lr: lrs[idx], point: { lr: lrs[idx], loss: losses[idx] } };
}

/**
 * `minimum`: a tenth of the lr at the lowest loss (`losses.argmin()`, the first on a tie), marked
 * at the minimum itself. With no losses fastai's argmin raises; this returns null.
 */
export function minimum(lrs: Float32Array, losses: Float32Array): LrSuggestion | null {
  if (losses.length === 0) return null;
  const lrMin = lrs[torchArgmin(losses)];
  return { name: 'minimum', lr: lrMin / 10, point: { lr: lrMin, loss: losses[nearestLrIndex(lrs, lrMin)] } };
}

/**
 * `steep`: the lr where the loss falls fastest against log lr,
 *   grads[i] = (losses[i+1] - losses[i]) / (log lrs[i+1] - log lrs[i]),  i in [0, n-2]
 * the lr at grads.argmin(), the left end of the steepest step. Fewer than 2 losses give no
 * gradient: fastai's argmin raises, this returns null.
 */
export function steep(lrs: Float32Array, losses: Float32Array): LrSuggestion | null {
  const n = Math.min(lrs.length, losses.length);
  if (n < 2) return null;
  const grads = new Float32Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    grads[i] = f32(losses[i + 1] - losses[i]) / f32(f32(Math.log(lrs[i + 1])) - f32(Math.log(lrs[i])));
  }
  const lrSteep = lrs[torchArgmin(grads)];
  return { name: 'steep', lr: lrSteep, point: { lr: lrSteep, loss: losses[nearestLrIndex(lrs, lrSteep)] } };
}

export const SUGGESTION_METHODS: Readonly<Record<SuggestionName, (lrs: Float32Array, losses: Float32Array) => LrSuggestion | null>> =
  Object.freeze({ valley, minimum, steep });

/**
 * `Learner.lr_find`'s suggestion step: prepares the recorded lists (suggestionInputs) and runs each
 * method in `methods` order (fastai's default: valley alone). A method that has too few points
 * (where fastai would raise) is left out of the result.
 */
export function suggestLrs(
  lrs: readonly number[],
  losses: readonly number[],
  numIt: number,
  methods: readonly SuggestionName[] = ['valley'],
): LrSuggestion[] {
  const inputs = suggestionInputs(lrs, losses, numIt);
  return methods.map((m) => SUGGESTION_METHODS[m](inputs.lrs, inputs.losses)).filter((s): s is LrSuggestion => s !== null);
}

/** Python's `seq[i]` for i in [-n, n): a negative index counts from the end. */
function pyIndex(i: number, n: number): number {
  return i < 0 ? i + n : i;
}

/**
 * torch's argmin: the first index of the smallest value, and a NaN counts as smaller than any
 * number (ATen's LessOrNan comparator), so the first NaN wins.
 */
function torchArgmin(vs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < vs.length; i++) {
    const a = vs[i];
    const b = vs[best];
    if (Number.isNaN(b)) break;
    if (Number.isNaN(a) || a < b) best = i;
  }
  return best;
}

/**
 * `min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr))`: the first index whose lr is nearest to
 * `lr`, the difference taken in float32 as on fastai's tensor.
 */
function nearestLrIndex(lrs: Float32Array, lr: number): number {
  let best = 0;
  let bestDist = Math.abs(f32(lrs[0] - lr));
  for (let i = 1; i < lrs.length; i++) {
    const d = Math.abs(f32(lrs[i] - lr));
    if (d < bestDist) {
      best = i;
      bestDist = d;
    }
  }
  return best;
}
