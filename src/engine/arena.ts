
/**
 * One shared WebAssembly.Memory that holds everything the threads share: the dataset, the parameters,
 * the step's batch indices and its per-row factors. It is handed to each worker once; after that a
 * task names a region by its offset, never carries data. Being a wasm memory, a WebAssembly kernel
 * can read and write the same bytes directly (its buffer is a SharedArrayBuffer).
 *
 * It is a bump allocator: regions are never freed, the memory grows as regions are added. A shared
 * memory never detaches its buffer on grow, so views made earlier stay valid.
 */
const PAGE = 65536;
const ALIGN = 64; // a cache line, and a multiple of every element size and of a SIMD vector
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit; only address space is reserved up front

export type ElementType = 'f32' | 'f64' | 'i32' | 'u8';

/** Where a typed array lives in the arena: enough for a worker to rebuild the same view. */
export interface Region {
  type: ElementType;
  byteOffset: number;
  length: number;
}

const BYTES: Record<ElementType, number> = { f32: 4, f64: 8, i32: 4, u8: 1 };

export type View<T extends ElementType> = T extends 'f32'
  ? Float32Array
  : T extends 'f64'
    ? Float64Array
    : T extends 'i32'
      ? Int32Array
      : Uint8Array;

/**
 * The arena cannot hold a new region: past wasm32's 4 GiB (`overLimit`), or the system would not
 * give the memory. Each allocator says what did not fit: the data loaders name the file, the shared
 * state the model and its per-batch buffers.
 */
export class ArenaFullError extends RangeError {
  constructor(
    message: string,
    readonly overLimit: boolean,
  ) {
    super(message);
  }
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  private used = ALIGN; // byte 0 is left unused so that no region sits at the null address
  private readonly buffers = new Set<SharedArrayBuffer>();

  constructor(memory?: WebAssembly.Memory) {
    this.memory = memory ?? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  }

  get byteLength(): number {
    return this.used;
  }

  /** A new zero-filled region of `length` elements. */
  alloc<T extends ElementType>(type: T, length: number): View<T> {
    const bytes = length * BYTES[type];
    const byteOffset = this.used;
    const end = byteOffset + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      const asked = `${(end / 2 ** 30).toFixed(2)} GiB`;
      if (have / PAGE + pages > MAX_PAGES) throw new ArenaFullError(`need ${asked} of shared memory, over WebAssembly's 4 GiB`, true);
      try {
        this.memory.grow(pages);
      } catch {
        throw new ArenaFullError(`need ${asked} of shared memory, more than the system could provide`, false);
      }
    }
    this.used = Math.ceil(end / ALIGN) * ALIGN;
    this.buffers.add(this.memory.buffer as unknown as SharedArrayBuffer);
    return viewOf(this.memory, { type, byteOffset, length });
  }

  /** A new zero-filled region, described rather than viewed (for setups sent to workers). */
  allocRegion(type: ElementType, length: number): Region {
    const v = this.alloc(type, length);
    return { type, byteOffset: v.byteOffset, length };
  }

  /** The region a view over this arena's memory occupies, or null if the view lives elsewhere. */
  regionOf(view: Float32Array | Float64Array | Int32Array | Uint8Array): Region | null {
    // Each grow gives memory.buffer a new SharedArrayBuffer object over the same bytes, so the
    // arena remembers every buffer object it has made views on.
    if (!this.buffers.has(view.buffer as SharedArrayBuffer)) return null;
    return { type: elementType(view), byteOffset: view.byteOffset, length: view.length };
  }
}

/** A typed array over `memory` for `region` (used by workers to rebuild the coordinator's views). */
export function viewOf<T extends ElementType>(memory: WebAssembly.Memory, r: Region & { type: T }): View<T> {
  const b = memory.buffer;
  switch (r.type) {
    case 'f32':
      return new Float32Array(b, r.byteOffset, r.length) as View<T>;
    case 'f64':
      return new Float64Array(b, r.byteOffset, r.length) as View<T>;
    case 'i32':
      return new Int32Array(b, r.byteOffset, r.length) as View<T>;
    default:
      return new Uint8Array(b, r.byteOffset, r.length) as View<T>;
  }
}

function elementType(v: Float32Array | Float64Array | Int32Array | Uint8Array): ElementType {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Int32Array) return 'i32';
  return 'u8';
}
