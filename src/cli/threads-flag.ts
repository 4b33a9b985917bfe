import { coreCount } from '../engine/pool.js';
import { intFlag } from './flag-values.js';

const MAX_THREADS = 256;

/** The --threads option as every command declares it. */
export const THREADS_OPTION = { type: 'string', describe: 'threads: this one and threads - 1 workers (one per core computes)', defaultDescription: `this machine's cores (${coreCount()})` } as const;

/** The --threads value: 1 to 256, the machine's cores when not given. */
export function threadsFlag(raw: Record<string, unknown>): number {
  return raw.threads === undefined ? coreCount() : intFlag('threads', raw.threads, 1, MAX_THREADS);
}
