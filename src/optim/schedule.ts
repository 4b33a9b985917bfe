/**
 * Learning-rate schedules: the lr (and the momentum, or AdamW's β1) of each optimizer step as a pure
 * function of the step's index, so that a run's bytes do not depend on where it was resumed or on
 * the thread count. Steps count from 0: step s is the (s + 1)-th optimizer step of the run.
 */

import type { OptimizerName } from './adamw.js';

export const SCHEDULES = ['constant', 'onecycle', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface Schedule {
  /** the learning rate of step s */
  lr(step: number): number;
  /** the momentum (SGD) or β1 (AdamW) of step s, or null where the schedule leaves it to the optimizer */
  momentum(step: number): number | null;
}

/** The same lr every step. */
export function constantSchedule(lr: number): Schedule {
  return { lr: () => lr, momentum: () => null };
}

/** fastai's fit_one_cycle defaults, as PyTorch's OneCycleLR takes them. */
export const ONE_CYCLE_DEFAULTS = { pctStart: 0.25, divFactor: 25, finalDivFactor: 1e5, baseMomentum: 0.85, maxMomentum: 0.95 } as const;

export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
  /** cycle the momentum (SGD's, or AdamW's β1) between these: maxMomentum -> baseMomentum -> maxMomentum */
  cycleMomentum: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

/** PyTorch's _annealing_cos: from start at pct 0 to end at pct 1 along half a cosine. */
function annealCos(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/**
 * PyTorch's OneCycleLR (two phases, cosine annealing), step for step: the lr rises from
 * maxLr / divFactor to maxLr over the first pctStart of the steps, then falls to
 * maxLr / divFactor / finalDivFactor at the last step, while the momentum does the opposite. The
 * phases end at steps pctStart * totalSteps - 1 (a float) and totalSteps - 1, as OneCycleLR's
 * _schedule_phases say; step s is computed as get_lr does at last_epoch = s.
 */
export function oneCycleSchedule(o: OneCycleOptions): Schedule {
  const { pctStart, divFactor, finalDivFactor, baseMomentum, maxMomentum } = { ...ONE_CYCLE_DEFAULTS, ...o };
  if (!(o.totalSteps >= 1)) throw new RangeError(`a one-cycle schedule needs at least one step, got ${o.totalSteps}`);
  const initialLr = o.maxLr / divFactor;
  const minLr = initialLr / finalDivFactor;
  const phases = [
    { end: pctStart * o.totalSteps - 1, lr: [initialLr, o.maxLr], momentum: [maxMomentum, baseMomentum] },
    { end: o.totalSteps - 1, lr: [o.maxLr, minLr], momentum: [baseMomentum, maxMomentum] },
  ];
  const at = (step: number, what: 'lr' | 'momentum'): number => {
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i];
      if (step <= p.end || i === phases.length - 1) {
        // OneCycleLR divides by (end - start) as it is: a one-step run's phase has zero length
        const pct = (step - start) / (p.end - start);
        return annealCos(p[what][0], p[what][1], pct);
      }
      start = p.end;
    }
    throw new Error('unreachable');
  };
  return { lr: (s) => at(s, 'lr'), momentum: (s) => (o.cycleMomentum ? at(s, 'momentum') : null) };
}

/**
 * Cosine annealing from lr to 0 over totalSteps, after `warmup` steps of a linear rise from 0, as
 * Hugging Face's get_cosine_schedule_with_warmup: lr * s / warmup while s < warmup, then
 * lr * (1 + cos(π p)) / 2 with p = (s - warmup) / (totalSteps - warmup). Without warmup it is
 * PyTorch's CosineAnnealingLR with T_max = totalSteps and eta_min = 0.
 */
export function cosineSchedule(lr: number, totalSteps: number, warmup = 0): Schedule {
  if (!(warmup >= 0 && warmup < totalSteps)) throw new RangeError(`a warmup of ${warmup} steps does not fit a run of ${totalSteps}`);
  return {
    lr: (s) => (s < warmup ? (lr * s) / warmup : (lr * (1 + Math.cos((Math.PI * (s - warmup)) / (totalSteps - warmup)))) / 2),
    momentum: () => null,
  };
}

/** What a run's schedule depends on (the run's settings). */
export interface ScheduleSettings {
  schedule: ScheduleName;
  lr: number;
  opt: OptimizerName;
  momentum: number;
  warmup: number;
}

/**
 * A run's lr schedule over its planned steps (epochs times the steps of an epoch; --steps only
 * stops it early, so that a resumed run follows the same curve). One-cycle cycles the momentum
 * when the optimizer has one: AdamW's β1, or SGD's when momentum is given.
 */
export function runSchedule(a: ScheduleSettings, plannedSteps: number): Schedule {
  switch (a.schedule) {
    case 'constant':
      return constantSchedule(a.lr);
    case 'onecycle':
      return oneCycleSchedule({ maxLr: a.lr, totalSteps: plannedSteps, cycleMomentum: a.opt === 'adamw' || a.momentum > 0 });
    case 'cosine':
      return cosineSchedule(a.lr, plannedSteps, a.warmup);
  }
}
