import type { Allocator } from '../data/dataset.js';
import type { Arena } from './arena.js';

/** Lets a data loader decode straight into the shared arena. */
export function arenaAllocator(arena: Arena): Allocator {
  return { f32: (n) => arena.alloc('f32', n), i32: (n) => arena.alloc('i32', n) };
}
