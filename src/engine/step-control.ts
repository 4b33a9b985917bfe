/**
 * How the threads agree on a step without a message per step: a small block of shared int32 words.
 *
 * A step has up to two phases: 0, the chunks (gradients, or evaluation chunks); 1, the parameter
 * slices (batch mean and SGD update), which may start only when every chunk is done. The
 * coordinator publishes a step by writing its parameters, resetting the counters and bumping GEN;
 * every thread, the coordinator included, then claims items from the phase's counter until none are
 * left. A thread that wakes late finds nothing left and no step ever waits for it: a step ends when
 * its items are done, not when every thread has checked in.
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
  /** rows in the batch (training) or split (evaluation) */
  ROWS,
  /** items in phase 0 and phase 1 (0: no phase 1) */
  N0,
  N1,
  CLAIM0,
  DONE0,
  CLAIM1,
  DONE1,
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

export enum Op {
  TRAIN,
  EVAL,
}

export const SPLIT_IDS = ['train', 'valid', 'test'] as const;

const ITEM_BITS = 16;
export const MAX_ITEMS = 1 << ITEM_BITS;
const ITEM_MASK = MAX_ITEMS - 1;
const GEN_MASK = 0xffff;

const CLAIM = [Word.CLAIM0, Word.CLAIM1] as const;
const DONE = [Word.DONE0, Word.DONE1] as const;
const N = [Word.N0, Word.N1] as const;

/** The claim word that opens a phase of generation `gen` at item 0. */
export function openClaim(gen: number): number {
  return ((gen & GEN_MASK) << ITEM_BITS) | 0;
}

/** The next item of `phase` for generation `gen`, or -1 when none is left (or the step is no longer current). */
export function claim(ctrl: Int32Array, phase: 0 | 1, gen: number): number {
  const at = CLAIM[phase];
  for (;;) {
    const w = Atomics.load(ctrl, at);
    if (w >>> ITEM_BITS !== (gen & GEN_MASK)) return -1;
    const item = w & ITEM_MASK;
    if (item >= Atomics.load(ctrl, N[phase])) return -1;
    if (Atomics.compareExchange(ctrl, at, w, w + 1) === w) return item;
  }
}

/** Counts an item of `phase` done; the thread that finishes the last one wakes those waiting for it. */
export function finish(ctrl: Int32Array, phase: 0 | 1): void {
  if (Atomics.add(ctrl, DONE[phase], 1) + 1 === Atomics.load(ctrl, N[phase])) Atomics.notify(ctrl, DONE[phase]);
}

/** How long a thread with a core to itself spins for the next step before it sleeps. */
export const SPIN_MICROS = 2000;

/**
 * Waits until every item of `phase` is done. Spins for up to `spinMicros` first (a wake-up from
 * Atomics.wait costs 60 to 85 µs, as long as a small step), then sleeps. Only threads that have a
 * core to themselves spin: with more threads than cores, spinning starves the threads doing work.
 * Returns false if `timeoutMs` passed first (the caller checks for a failed worker and waits again).
 */
export function waitPhase(ctrl: Int32Array, phase: 0 | 1, spinMicros: number, timeoutMs = Infinity): boolean {
  if (spinUntilAtLeast(ctrl, DONE[phase], N[phase], spinMicros)) return true;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(ctrl, DONE[phase]);
    if (seen >= Atomics.load(ctrl, N[phase])) return true;
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
