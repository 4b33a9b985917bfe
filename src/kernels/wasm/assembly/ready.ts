// A slice may start while the rows pass is still running: it reads each batch row once the row is
// marked ready for the step (rows.ts marks it after writing its factors, with an atomic store).

import { Header } from './layout';
import { at4 } from './simd';

/** How many times a slice looks at an unready row before it gives up (about a millisecond). */
const WAIT_LOOKS = 1 << 20;

/** Whether batch row r is ready for `step`, waiting for it a while: true once it is, false if it stays unready. */
// @ts-ignore: decorator
@inline export function rowReady(H: Header, r: i32, step: i32): bool {
  const at = at4(H.rowReady, r);
  return atomic.load<i32>(at) == step || waitReady(at, step);
}

function waitReady(at: usize, step: i32): bool {
  for (let i = 0; i < WAIT_LOOKS; i++) if (atomic.load<i32>(at) == step) return true;
  return false;
}
