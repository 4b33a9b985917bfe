import type { Dataset, Split } from '../data/dataset.js';
import { MAX_SPLIT_ROWS } from '../data/limits.js';
import { UserError } from '../errors.js';
import { KERNELS, type KernelDefinition } from '../kernels/create.js';
import type { Kernel, KernelContext, KernelName, StepViews } from '../kernels/kernel.js';
import type { ParamStorage } from '../kernels/param-storage.js';
import type { MlpLayout } from '../model/layout.js';
import { mlpLayout } from '../model/layout.js';
import { Arena, ArenaFullError, viewOf, type Region } from './arena.js';
import { arenaAllocator } from './arena-allocator.js';
import { allocFactors, factorViews, type BatchFactors, type FactorRegions } from './batch-factors.js';
import { coreCount } from './pool.js';
import { Hyper, MAX_ITEMS, Result, SPLIT_IDS, Word } from './step-control.js';
import { EVAL_ITEM_ROWS, MAX_ITEM_ROWS, evalItemCount, inputDensity, planSlices, type SlicePlan } from './work-plan.js';

export type SplitName = (typeof SPLIT_IDS)[number];

/** The most rows one kernel call is given: a training row item, or an evaluation item. */
const MAX_CALL_ROWS = Math.max(MAX_ITEM_ROWS, EVAL_ITEM_ROWS);

interface SplitRegions {
  x: Region;
  y: Region;
  n: number;
  nIn: number;
  /** the rows' non-zero lists (Split.nonZero), when the kernel's prepareTraining made them */
  nzStart?: Region;
  nzIndex?: Region;
  nzValue?: Region;
}

export interface StateOptions {
  /** layer widths, input first */
  sizes: number[];
  /** the largest training batch */
  batchSize: number;
  kernel: KernelName;
  /** compute threads (each gets kernel scratch) */
  threads: number;
  /** keep a momentum buffer: SGD's, or AdamW's first moment */
  momentum?: boolean;
  /** keep AdamW's second moment */
  variance?: boolean;
  /** keep every evaluated row's class probabilities */
  predictions?: boolean;
  /** the threads to cut the slices for (default: `threads`, at most the cores); any cut gives the same bytes */
  planThreads?: number;
}

/** What a worker needs to rebuild the coordinator's views: plain data plus the shared memory. */
export interface SharedSetup {
  memory: WebAssembly.Memory;
  sizes: number[];
  kernel: KernelName;
  /** the largest training batch */
  batchSize: number;
  plan: SlicePlan;
  params: Region;
  batch: Region;
  factors: FactorRegions;
  splits: Partial<Record<SplitName, SplitRegions>>;
  /** per-thread kernel scratch: [threads] regions; 0 is the coordinator's, workers claim the rest */
  scratch: Region[];
  /** [1] the next scratch region a worker may claim */
  scratchClaim: Region;
  /** the step control words (step-control.ts Word) */
  control: Region;
  /** [Hyper.COUNT] the optimizer's settings for the step */
  hyper: Region;
  /** [P] SGD's momentum buffer or AdamW's first moment (null without) */
  momentum: Region | null;
  /** [P] AdamW's second moment (null without) */
  variance: Region | null;
  /** [rows, nClasses] class probabilities of the last evaluation (null unless asked for) */
  predictions: Region | null;
  /** [evaluation items, Result.COUNT]: each evaluation item's summed loss and correct count */
  results: Region;
}

/**
 * Everything the threads share, as views over one arena:
 *   params [P]                  the flat parameter block, as the kernel stores it (`storage`: the
 *                               model layout, or the wasm kernel's: first W transposed, all padded)
 *   momentum [P]                SGD's momentum buffer or AdamW's first moment, when kept (same storage)
 *   variance [P]                AdamW's second moment, when kept (same storage)
 *   batch  [batchSize]          the current batch's sample ids
 *   factors                     each batch row's per-sample gradient as its factors, its loss and
 *                               correctness (batch-factors.ts)
 *   splits                      the dataset, decoded once (and what the kernel lists about the
 *                               training split: the wasm kernel's non-zero lists)
 *   control, hyper, results     how the threads agree on a step (step-control.ts)
 *   predictions [rows, C]       class probabilities from evaluation, when asked for
 *   scratch [threads]           each computing thread's kernel scratch
 */
export class SharedState {
  readonly layout: MlpLayout;
  readonly definition: KernelDefinition;
  /** how params and momentum are laid out (P = storage.count) */
  readonly storage: ParamStorage;
  readonly params: Float32Array;
  readonly batch: Int32Array;
  readonly factors: BatchFactors;
  readonly control: Int32Array;
  readonly hyper: Float64Array;
  readonly momentum: Float32Array | null;
  readonly variance: Float32Array | null;
  readonly predictions: Float32Array | null;
  readonly results: Float64Array;
  readonly splits: Partial<Record<SplitName, Split>>;
  /** the rows the largest call to a kernel is given (a training row item or an evaluation item) */
  readonly maxRows: number;

  private constructor(readonly setup: SharedSetup) {
    const m = setup.memory;
    this.layout = mlpLayout(setup.sizes);
    this.definition = KERNELS[setup.kernel];
    this.storage = this.definition.storage(this.layout);
    this.params = viewOf(m, { ...setup.params, type: 'f32' });
    this.batch = viewOf(m, { ...setup.batch, type: 'i32' });
    this.factors = factorViews(m, setup.factors);
    this.control = viewOf(m, { ...setup.control, type: 'i32' });
    this.hyper = viewOf(m, { ...setup.hyper, type: 'f64' });
    this.momentum = setup.momentum && viewOf(m, { ...setup.momentum, type: 'f32' });
    this.variance = setup.variance && viewOf(m, { ...setup.variance, type: 'f32' });
    this.predictions = setup.predictions && viewOf(m, { ...setup.predictions, type: 'f32' });
    this.results = viewOf(m, { ...setup.results, type: 'f64' });
    this.splits = {};
    for (const [name, s] of Object.entries(setup.splits) as [SplitName, SplitRegions][]) {
      const split: Split = { x: viewOf(m, { ...s.x, type: 'f32' }), y: viewOf(m, { ...s.y, type: 'i32' }), n: s.n, nIn: s.nIn };
      if (s.nzStart && s.nzIndex && s.nzValue) {
        split.nonZero = { start: viewOf(m, { ...s.nzStart, type: 'i32' }), index: viewOf(m, { ...s.nzIndex, type: 'i32' }), value: viewOf(m, { ...s.nzValue, type: 'f32' }) };
      }
      this.splits[name] = split;
    }
    this.maxRows = MAX_CALL_ROWS;
  }

  /** The slice plan the steps use. */
  get plan(): SlicePlan {
    return this.setup.plan;
  }

  /** A kernel over this state with scratch region `index` (0: the coordinator's). */
  kernel(index: number): Kernel {
    return this.definition.create(this.kernelContext(index));
  }

  /** What a kernel over this state with scratch region `index` is given. */
  kernelContext(index: number): KernelContext {
    const r = this.setup.scratch[index];
    if (!r) throw new Error(`no kernel scratch region ${index}`);
    const step: StepViews = { params: this.params, momentum: this.momentum, variance: this.variance, batch: this.batch, train: this.splits.train ?? null, factors: this.factors, plan: this.plan };
    return { layout: this.layout, storage: this.storage, step, maxRows: this.maxRows, memory: this.setup.memory, scratch: viewOf(this.setup.memory, { ...r, type: 'u8' }) };
  }

  /** A worker's scratch region (1, 2, ...): claimed once per thread, it also names the worker. */
  claimScratch(): number {
    return Atomics.add(viewOf(this.setup.memory, { ...this.setup.scratchClaim, type: 'i32' }), 0, 1);
  }

  /**
   * Lays out a new shared state in `arena` for `threads` threads; dataset arrays already in the arena
   * are used where they are. The slice plan is cut for the threads that will compute: `threads`, or
   * fewer when the machine has fewer cores (the engine wakes no more than one thread per core). A
   * layout the arena cannot hold is one UserError.
   */
  static create(arena: Arena, data: Dataset, opts: StateOptions): SharedState {
    try {
      return SharedState.layOut(arena, data, opts);
    } catch (e) {
      if (!(e instanceof ArenaFullError)) throw e;
      throw new UserError(`the data, the model and its per-batch buffers ${e.message}${e.overLimit ? ': a smaller model (--hidden) or batch (--bs) fits' : ''}`);
    }
  }

  private static layOut(arena: Arena, data: Dataset, opts: StateOptions): SharedState {
    const { sizes, batchSize, kernel, threads } = opts;
    const definition = KERNELS[kernel];
    const layout = mlpLayout(sizes);
    const storage = definition.storage(layout);
    const P = storage.count;
    const computing = opts.planThreads ?? Math.max(1, Math.min(threads, coreCount()));
    const train = data.train;
    const plan = planSlices(storage, inputDensity(train.x, train.n, train.nIn), batchSize, computing);
    const scratchBytes = definition.scratchBytes(storage, plan, MAX_CALL_ROWS);
    const splits: Partial<Record<SplitName, SplitRegions>> = {};
    let items = 1;
    let maxSplitRows = 0;
    const alloc = arenaAllocator(arena);
    for (const name of SPLIT_IDS) {
      let s = data[name];
      if (!s) continue;
      const r: SplitRegions = { x: place(arena, s.x, 'f32'), y: place(arena, s.y, 'i32'), n: s.n, nIn: s.nIn };
      if (name === 'train') {
        s = definition.prepareTraining({ ...s, x: viewOf(arena.memory, { ...r.x, type: 'f32' }) }, alloc);
        if (s.nonZero) {
          r.nzStart = place(arena, s.nonZero.start, 'i32');
          r.nzIndex = place(arena, s.nonZero.index, 'i32');
          r.nzValue = place(arena, s.nonZero.value, 'f32');
        }
      }
      splits[name] = r;
      items = Math.max(items, evalItemCount(s.n));
      maxSplitRows = Math.max(maxSplitRows, s.n);
    }
    if (items > MAX_ITEMS) throw new RangeError(`a split of more than ${MAX_SPLIT_ROWS} rows`);
    const setup: SharedSetup = {
      memory: arena.memory,
      sizes,
      kernel,
      batchSize,
      plan,
      params: arena.allocRegion('f32', P),
      batch: arena.allocRegion('i32', batchSize),
      // list cuts for a transposed first layer (the wasm kernel's), whose plan has its slices' bounds; none otherwise
      factors: allocFactors(arena, storage, batchSize, plan.firstLayerBounds.length),
      splits,
      scratch: Array.from({ length: threads }, () => arena.allocRegion('u8', scratchBytes)),
      scratchClaim: arena.allocRegion('i32', 1),
      control: arena.allocRegion('i32', Word.COUNT),
      hyper: arena.allocRegion('f64', Hyper.COUNT),
      results: arena.allocRegion('f64', Result.COUNT * items),
      momentum: opts.momentum ? arena.allocRegion('f32', P) : null,
      variance: opts.variance ? arena.allocRegion('f32', P) : null,
      predictions: opts.predictions ? arena.allocRegion('f32', maxSplitRows * layout.nClasses) : null,
    };
    viewOf(arena.memory, { ...setup.scratchClaim, type: 'i32' })[0] = 1;
    return new SharedState(setup);
  }

  /** The same views, rebuilt in a worker from the setup the coordinator sent. */
  static attach(setup: SharedSetup): SharedState {
    return new SharedState(setup);
  }

  split(name: SplitName): Split {
    const s = this.splits[name];
    if (!s) throw new Error(`no ${name} split was loaded`);
    return s;
  }
}

/** The region of an array in the arena, copying it in when it lives elsewhere. */
function place(arena: Arena, a: Float32Array | Int32Array, type: 'f32' | 'i32'): Region {
  const r = arena.regionOf(a);
  if (r) return r;
  const copy = arena.alloc(type, a.length);
  copy.set(a);
  return arena.regionOf(copy)!;
}
