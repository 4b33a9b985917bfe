/**
 * A fault injected on purpose, for testing how a run fails: MLP_PARALLEL_FAULT=worker:K,step:S[,exit]
 * makes worker K throw (or, with `exit`, end its thread) when it takes part in training step S or
 * a later one. Unset, it costs one comparison per step.
 */
export interface Fault {
  worker: number;
  step: number;
  exit: boolean;
}

export function faultFromEnv(env: NodeJS.ProcessEnv = process.env): Fault | null {
  const spec = env.MLP_PARALLEL_FAULT;
  if (!spec) return null;
  const m = /^worker:(\d+),step:(\d+)(,exit)?$/.exec(spec.trim());
  if (!m) throw new Error(`MLP_PARALLEL_FAULT must look like worker:1,step:5[,exit], got '${spec}'`);
  return { worker: Number(m[1]), step: Number(m[2]), exit: m[3] !== undefined };
}

/** Fires the fault if it is this worker's and the step has come. */
export function maybeFail(fault: Fault | null, worker: number, step: number): void {
  if (fault === null || fault.worker !== worker || step < fault.step) return;
  if (fault.exit) process.exit(3);
  throw new Error(`injected fault (MLP_PARALLEL_FAULT) at step ${step}`);
}
