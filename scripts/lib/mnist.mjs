// The benchmarks' dataset: MNIST decoded into a new shared arena, its training split prepared once
// for the kernel (the wasm kernel's non-zero lists), so that every trainer made over it shares them.

/** {arena, data} from the trainer build `lib` (its dist/index.js), for kernel `kernel`. */
export function sharedMnist(lib, kernel = 'wasm') {
  const arena = new lib.Arena();
  const alloc = lib.arenaAllocator(arena);
  const mnist = lib.loadMnist({ alloc });
  return { arena, data: { ...mnist, train: lib.KERNELS[kernel].prepareTraining(mnist.train, alloc) } };
}
