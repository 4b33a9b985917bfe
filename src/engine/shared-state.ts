import type { Dataset, Split } from '../data/dataset.js';
import { createKernel, kernelScratchBytes, paramStorage } from '../kernels/create.js';
import type { ParamStorage } from '../kernels/param-storage.js';
import type { Kernel, KernelName } from '../kernels/kernel.js';
import type { MlpLayout } from '../model/layout.js';
import { mlpLayout } from '../model/layout.js';
import { buildNonZeroIndex } from '../data/non-zero-index.js';
import { Arena, viewOf, type Region } from './arena.js';
import { arenaAllocator } from './arena-allocator.js';
import { EVAL_CHUNK_ROWS, chunkCount, evalChunkCount, maxChunkRows } from './chunks.js';
import { MAX_ITEMS, SPLIT_IDS, Word } from './step-control.js';

export type SplitName = (typeof SPLIT_IDS)[number];

interface SplitRegions {
  x: Region;
  y: Region;
  n: number;
  nIn: number;
  /** the rows' non-zero lists (Split.nonZero): start [n + 1], index, value [nnz]; train split of the wasm kernel only */
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
  /** keep a momentum buffer for SGD */
  momentum?: boolean;
  /** keep every evaluated row's class probabilities */
  predictions?: boolean;
}

/** What a worker needs to rebuild the coordinator's views: plain data plus the shared memory. */
export interface SharedSetup {
  memory: WebAssembly.Memory;
  sizes: number[];
  kernel: KernelName;
  /** the largest training batch; fixes the gradient slot count */
  batchSize: number;
  params: Region;
  slots: Region;
  batch: Region;
  splits: Partial<Record<SplitName, SplitRegions>>;
  /** per-thread kernel scratch: [threads] regions; 0 is the coordinator's, workers claim the rest */
  scratch: Region[];
  /** [1] the next scratch region a worker may claim */
  scratchClaim: Region;
  /** the step control words (step-control.ts) */
  control: Region;
  /** [3] the optimizer's hyperparameters for the step: learning rate, momentum, weight decay */
  hyper: Region;
  /** [P] SGD's momentum buffer (null without momentum) */
  momentum: Region | null;
  /** [rows, nClasses] class probabilities of the last evaluation (null unless asked for) */
  predictions: Region | null;
  /** [items, 2]: each chunk's [summed loss, correct count] */
  results: Region;
}

/**
 * Everything the threads share, as views over one arena:
 *   params [P]                  the flat parameter block, as the kernel stores it (`storage`: the
 *                               model layout, or the wasm kernel's with the first W transposed)
 *   slots  [nChunks, P]         one gradient slot per chunk of the largest batch (same storage)
 *   batch  [batchSize]          the current batch's sample ids
 *   splits                      the dataset, decoded once (with the wasm kernel, the training
 *                               rows' non-zero lists too: data/non-zero-index.ts)
 *   control, hyper, results     how the threads agree on a step (step-control.ts)
 *   momentum [P]                SGD's momentum buffer, when momentum is on
 *   predictions [rows, C]       class probabilities from evaluation, when asked for
 */
export class SharedState {
  readonly layout: MlpLayout;
  /** how params, slots and momentum are laid out (P = storage.count) */
  readonly storage: ParamStorage;
  readonly params: Float32Array;
  readonly slots: Float32Array;
  readonly batch: Int32Array;
  readonly control: Int32Array;
  readonly hyper: Float64Array;
  readonly momentum: Float32Array | null;
  readonly predictions: Float32Array | null;
  readonly results: Float64Array;
  readonly splits: Partial<Record<SplitName, Split>>;
  /** rows of the largest chunk a kernel will be given (training or evaluation) */
  readonly maxRows: number;

  private constructor(readonly setup: SharedSetup) {
    const m = setup.memory;
    this.layout = mlpLayout(setup.sizes);
    this.storage = paramStorage(setup.kernel, this.layout);
    this.params = viewOf(m, { ...setup.params, type: 'f32' });
    this.slots = viewOf(m, { ...setup.slots, type: 'f32' });
    this.batch = viewOf(m, { ...setup.batch, type: 'i32' });
    this.control = viewOf(m, { ...setup.control, type: 'i32' });
    this.hyper = viewOf(m, { ...setup.hyper, type: 'f64' });
    this.momentum = setup.momentum && viewOf(m, { ...setup.momentum, type: 'f32' });
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
    this.maxRows = maxRowsFor(setup.batchSize);
  }

  /** A kernel over this state with scratch region `slot` (0: the coordinator's). */
  kernel(slot: number): Kernel {
    const r = this.setup.scratch[slot];
    if (!r) throw new Error(`no kernel scratch region ${slot}`);
    return createKernel(this.setup.kernel, {
      layout: this.layout,
      maxRows: this.maxRows,
      memory: this.setup.memory,
      scratch: viewOf(this.setup.memory, { ...r, type: 'u8' }),
    });
  }

  /** A worker's scratch slot (1, 2, ...): claimed once per thread, it also names the worker. */
  claimSlot(): number {
    return Atomics.add(viewOf(this.setup.memory, { ...this.setup.scratchClaim, type: 'i32' }), 0, 1);
  }

  /** Lays out a new shared state in `arena`; dataset arrays already in the arena are used where they are. */
  static create(arena: Arena, data: Dataset, opts: StateOptions): SharedState {
    const { sizes, batchSize, kernel, threads } = opts;
    const layout = mlpLayout(sizes);
    const P = paramStorage(kernel, layout).count;
    const scratchBytes = kernelScratchBytes(kernel, layout, maxRowsFor(batchSize));
    const splits: Partial<Record<SplitName, SplitRegions>> = {};
    let items = chunkCount(batchSize);
    let maxRows = 0;
    for (const name of SPLIT_IDS) {
      const s = data[name];
      if (!s) continue;
      const r: SplitRegions = { x: place(arena, s.x, 'f32'), y: place(arena, s.y, 'i32'), n: s.n, nIn: s.nIn };
      if (kernel === 'wasm' && name === 'train') {
        // the wasm kernel copies a training row's non-zeros from this list instead of scanning the row
        const nz = buildNonZeroIndex(s.x, s.n, s.nIn, arenaAllocator(arena));
        r.nzStart = arena.regionOf(nz.start)!;
        r.nzIndex = arena.regionOf(nz.index)!;
        r.nzValue = arena.regionOf(nz.value)!;
      }
      splits[name] = r;
      items = Math.max(items, evalChunkCount(s.n));
      maxRows = Math.max(maxRows, s.n);
    }
    if (items > MAX_ITEMS) throw new RangeError(`a split of more than ${MAX_ITEMS * EVAL_CHUNK_ROWS} rows`);
    const setup: SharedSetup = {
      memory: arena.memory,
      sizes,
      kernel,
      batchSize,
      params: arena.allocRegion('f32', P),
      slots: arena.allocRegion('f32', chunkCount(batchSize) * P),
      batch: arena.allocRegion('i32', batchSize),
      splits,
      scratch: Array.from({ length: threads }, () => arena.allocRegion('u8', scratchBytes)),
      scratchClaim: arena.allocRegion('i32', 1),
      control: arena.allocRegion('i32', Word.COUNT),
      hyper: arena.allocRegion('f64', 3),
      results: arena.allocRegion('f64', 2 * items),
      momentum: opts.momentum ? arena.allocRegion('f32', P) : null,
      predictions: opts.predictions ? arena.allocRegion('f32', maxRows * sizes[sizes.length - 1]) : null,
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

/** Rows of the largest chunk a kernel will be given (training or evaluation). */
function maxRowsFor(batchSize: number): number {
  return Math.max(maxChunkRows(batchSize), EVAL_CHUNK_ROWS);
}

/** The region of an array in the arena, copying it in when it lives elsewhere. */
function place(arena: Arena, a: Float32Array | Int32Array, type: 'f32' | 'i32'): Region {
  const r = arena.regionOf(a);
  if (r) return r;
  const copy = arena.alloc(type, a.length);
  copy.set(a);
  return arena.regionOf(copy)!;
}
