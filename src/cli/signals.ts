/**
 * Ctrl-C (SIGINT) or SIGTERM asks the run to stop after the step in progress, so that it can save a
 * checkpoint; a second one ends the process at once, writing nothing more. The first signal removes
 * these handlers, which gives both signals back their default action: the second then ends the
 * process in the kernel, even while this thread is busy computing and cannot run a handler. (A
 * checkpoint write it cuts short leaves the old checkpoint whole: writes go to a temporary file.)
 */
export interface StopSignals {
  /** the first signal received, or null */
  readonly received: NodeJS.Signals | null;
  /** the exit code for it: 128 + its number (130 for SIGINT, 143 for SIGTERM) */
  readonly exitCode: number;
  dispose(): void;
}

const CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export function stopOnSignals(onFirst: (signal: NodeJS.Signals) => void): StopSignals {
  let received: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals) => {
    received = signal;
    off();
    onFirst(signal);
  };
  const off = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get received() {
      return received;
    },
    get exitCode() {
      return received ? (CODES[received] ?? 1) : 0;
    },
    dispose: off,
  };
}
