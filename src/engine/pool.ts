import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { SharedSetup } from './shared-state.js';

/** What each worker is given once, at start-up. */
export interface WorkerSetup {
  shared: SharedSetup;
  /** how many workers take part in steps and spin between them (one per spare core) */
  spinners: number;
}

/** The compiled worker entry (dist/workers/trainer.js), beside this file's folder in dist/. */
const WORKER_FILE = new URL('../workers/trainer.js', import.meta.url).href;

/**
 * The piscina pool of long-lived workers: it starts them, hands each the shared setup, runs one
 * `serve` task per worker for the pool's whole life, and reports a worker that throws or exits.
 */
export class WorkerPool {
  private readonly pool: Piscina;
  private readonly serving: Promise<unknown>[];
  /** the first failure a worker reported, if any */
  failure: Error | null = null;

  constructor(
    shared: SharedSetup,
    readonly workers: number,
    readonly spinners: number,
  ) {
    const workerData: WorkerSetup = { shared, spinners };
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      workerData,
    });
    this.serving = Array.from({ length: workers }, () =>
      this.pool.run(null).catch((e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
      }),
    );
  }

  /** Waits for every serve task to return (after the coordinator set STOP), then ends the threads. */
  async close(): Promise<void> {
    await Promise.all(this.serving);
    await this.pool.destroy();
  }
}

/**
 * The cores the engine plans for: os.availableParallelism(), or MLP_PARALLEL_CORES when set (a
 * positive integer: a container's real share, or tests that make every thread compute).
 */
export function coreCount(): number {
  const v = process.env.MLP_PARALLEL_CORES;
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
}

/** Workers that take part in steps (and spin between them): one per core beside the coordinator's. */
export function spinnerCount(threads: number): number {
  return Math.max(0, Math.min(threads, coreCount()) - 1);
}
