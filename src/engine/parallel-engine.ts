import { Piscina } from 'piscina';
import type { Stats } from '../nn/types.js';
import { chunkRange } from './chunks.js';
import { Engine } from './engine.js';
import type { SharedState, SplitName } from './shared-state.js';
import type { Task, TaskResult } from './tasks.js';

/** The compiled worker entry (dist/workers/trainer.js), beside this file's folder in dist/. */
const WORKER_FILE = new URL('../workers/trainer.js', import.meta.url).href;

/** Parameter slices are cut at multiples of this (64-byte lines), so no two threads write one line. */
const SLICE_ALIGN = 16;

/**
 * A coordinator and a piscina pool of long-lived workers. The shared memory goes to each worker once,
 * at start-up; each step then sends one task per chunk and one per parameter slice.
 */
export class ParallelEngine extends Engine {
  private readonly pool: Piscina;

  constructor(
    state: SharedState,
    readonly threads: number,
  ) {
    super(state);
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      workerData: state.setup,
    });
  }

  protected async chunkGradients(bs: number, n: number): Promise<Stats[]> {
    const tasks: Promise<TaskResult>[] = [];
    for (let c = 0; c < n; c++) {
      const [lo, hi] = chunkRange(bs, n, c);
      tasks.push(this.run({ op: 'grad', chunk: c, lo, hi }));
    }
    return toStats(await Promise.all(tasks));
  }

  protected async update(n: number, bs: number): Promise<void> {
    const P = this.state.params.length;
    const slices = Math.min(this.threads, Math.ceil(P / SLICE_ALIGN));
    const tasks: Promise<TaskResult>[] = [];
    for (let i = 0; i < slices; i++) {
      const lo = Math.min(P, Math.round((i * P) / slices / SLICE_ALIGN) * SLICE_ALIGN);
      const hi = i + 1 === slices ? P : Math.min(P, Math.round(((i + 1) * P) / slices / SLICE_ALIGN) * SLICE_ALIGN);
      if (hi > lo) tasks.push(this.run({ op: 'update', lo, hi, nChunks: n, batchSize: bs, lr: this.optimizer.lr }));
    }
    await Promise.all(tasks);
  }

  protected async evalChunks(split: SplitName, rows: number, n: number): Promise<Stats[]> {
    const tasks: Promise<TaskResult>[] = [];
    for (let c = 0; c < n; c++) {
      const [lo, hi] = chunkRange(rows, n, c);
      tasks.push(this.run({ op: 'eval', split, lo, hi }));
    }
    return toStats(await Promise.all(tasks));
  }

  private run(task: Task): Promise<TaskResult> {
    return this.pool.run(task);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

function toStats(results: TaskResult[]): Stats[] {
  return results.map(([loss, correct]) => ({ loss, correct }));
}
