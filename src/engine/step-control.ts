/**
 * How the threads agree on a step without a message per step: a small block of shared int32 words.
 *
 * A step has up to two phases: the rows (each row item's forward and backward pass, or an
 * evaluation item), then, for a training step, the slices (each parameter slice's batch mean and
 * update), which may start only when every row item is done. The coordinator publishes a step by
 * writing its parameters, resetting the counters and bumping GEN; every thread, the coordinator
 * included, then claims items from the phase's counter until none are left. A thread that wakes
 * late finds nothing left and no step ever waits for it: a step ends when its items are done, not
 * when every thread has checked in.
 *
 * A claim word holds (generation << 16 | next item), and claims are made by compare-and-swap, so a
 * thread still holding a previous step's generation can never claim an item of a newer step.
 */
export enum Word {
  /** step generation; idle workers wait on this word */
  GEN,
  /** 1 when the workers are to leave */
  STOP,
  /** what the step does (Op) */
  OP,
  /** the split an evaluation reads (index into SPLIT_IDS) */
  SPLIT,
  /** rows in the batch (training) or the split (evaluation) */
  ROWS,
  /** row items of the step: near-equal runs of rows (work-plan.ts itemStart) */
  ROW_ITEMS,
  /** the next row item to claim, and row items done */
  ROW_CLAIM,
  ROW_DONE,
  /** parameter slices of the step (0: no slices phase, an evaluation) */
  SLICE_ITEMS,
  /** the next slice to claim, and slices done */
  SLICE_CLAIM,
  SLICE_DONE,
  /** workers spinning right now (awake, waiting for the next step) */
  SPINNING,
  /** 1 + the index of the first worker that failed, or 0 */
  FAILED,
  /** training steps published so far (this one included) */
  STEP,
  /** workers that have started and are waiting for steps */
  READY,
  COUNT,
}

/** The phases of a step, each with its item count, claim and done words. */
export enum Phase {
  ROWS,
  SLICES,
}
const ITEMS = [Word.ROW_ITEMS, Word.SLICE_ITEMS] as const;
const CLAIM = [Word.ROW_CLAIM, Word.SLICE_CLAIM] as const;
const DONE = [Word.ROW_DONE, Word.SLICE_DONE] as const;

export enum Op {
  TRAIN,
  EVAL,
}

export const SPLIT_IDS = ['train', 'valid', 'test'] as const;

/** The step's settings, a shared float64 block the coordinator writes before each training step (StepOptions). */
export enum Hyper {
  LR,
  MOMENTUM,
  WEIGHT_DECAY,
  /** per-sample clipping norm (0: none) */
  CLIP,
  /** what the summed gradient is divided by */
  MEAN_OVER,
  /** DP noise: its standard deviation (0: none), seed and step */
  NOISE_STD,
  NOISE_SEED,
  NOISE_STEP,
  /** 1: the update is AdamW's, with these betas, eps and step number t (from 1); 0: SGD's */
  ADAMW,
  BETA1,
  BETA2,
  EPS,
  ADAM_T,
  COUNT,
}

/** An evaluation item's sums, in a shared float64 block [items, Result.COUNT]. */
export enum Result {
  LOSS,
  CORRECT,
  COUNT,
}

const ITEM_BITS = 16;
export const MAX_ITEMS = 1 << ITEM_BITS;
const ITEM_MASK = MAX_ITEMS - 1;
const GEN_MASK = 0xffff;

/** Resets the counters of `phase` and opens its claims for generation `gen` at item 0, with `items` items. */
export function openPhase(ctrl: Int32Array, phase: Phase, gen: number, items: number): void {
  ctrl[ITEMS[phase]] = items;
  Atomics.store(ctrl, DONE[phase], 0);
  Atomics.store(ctrl, CLAIM[phase], (gen & GEN_MASK) << ITEM_BITS);
}

/** Items of `phase` in the current step. */
export function itemsOf(ctrl: Int32Array, phase: Phase): number {
  return Atomics.load(ctrl, ITEMS[phase]);
}

/** The next item of `phase` for generation `gen`, or -1 when none is left (or the step is no longer current). */
export function claim(ctrl: Int32Array, phase: Phase, gen: number): number {
  const at = CLAIM[phase];
  for (;;) {
    const w = Atomics.load(ctrl, at);
    if (w >>> ITEM_BITS !== (gen & GEN_MASK)) return -1;
    const item = w & ITEM_MASK;
    if (item >= Atomics.load(ctrl, ITEMS[phase])) return -1;
    if (Atomics.compareExchange(ctrl, at, w, w + 1) === w) return item;
  }
}

/** Counts an item of `phase` done; the thread that finishes the last one wakes those waiting for it. */
export function finish(ctrl: Int32Array, phase: Phase): void {
  if (Atomics.add(ctrl, DONE[phase], 1) + 1 === Atomics.load(ctrl, ITEMS[phase])) Atomics.notify(ctrl, DONE[phase]);
}

/** Wakes every thread waiting for a phase to end (a worker failed: they would wait for ever). */
export function wakePhaseWaiters(ctrl: Int32Array): void {
  for (const w of DONE) Atomics.notify(ctrl, w);
}

/** How long a thread with a core to itself spins for the next step before it sleeps. */
export const SPIN_MICROS = 2000;

/**
 * Waits until every item of `phase` is done. Spins for up to `spinMicros` first (a wake-up from
 * Atomics.wait costs 60 to 85 µs, as long as a small step), then sleeps. Only threads that have a
 * core to themselves spin: with more threads than cores, spinning starves the threads doing work.
 * Returns false if `timeoutMs` passed first (the caller checks for a failed worker and waits again).
 */
export function waitPhase(ctrl: Int32Array, phase: Phase, spinMicros: number, timeoutMs = Infinity): boolean {
  if (spinUntilAtLeast(ctrl, DONE[phase], ITEMS[phase], spinMicros)) return true;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(ctrl, DONE[phase]);
    if (seen >= Atomics.load(ctrl, ITEMS[phase])) return true;
    if (Atomics.load(ctrl, Word.FAILED) !== 0) return false;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(ctrl, DONE[phase], seen, Math.min(left, 50));
  }
}

/** Busy-waits up to `micros` until ctrl[word] >= ctrl[limit]; true if it came. */
export function spinUntilAtLeast(ctrl: Int32Array, word: number, limit: number, micros: number): boolean {
  if (micros <= 0) return Atomics.load(ctrl, word) >= Atomics.load(ctrl, limit);
  const until = performance.now() + micros / 1000;
  for (;;) {
    for (let i = 0; i < 64; i++) if (Atomics.load(ctrl, word) >= Atomics.load(ctrl, limit)) return true;
    if (performance.now() > until) return Atomics.load(ctrl, word) >= Atomics.load(ctrl, limit);
  }
}

/** Busy-waits up to `micros` while ctrl[word] === value; true if it changed. */
export function spinWhileEqual(ctrl: Int32Array, word: number, value: number, micros: number): boolean {
  if (micros <= 0) return Atomics.load(ctrl, word) !== value;
  const until = performance.now() + micros / 1000;
  for (;;) {
    for (let i = 0; i < 64; i++) if (Atomics.load(ctrl, word) !== value) return true;
    if (performance.now() > until) return Atomics.load(ctrl, word) !== value;
  }
}
