// Paired timing for the benchmarks that compare engines inside one process: each round times a
// burst of steps on every trainer in turn, so that the ratios of one round compare moments
// milliseconds apart (on a shared machine whose speed moves by tens of percent from minute to
// minute, such ratios hold far better than separate runs).

/** The median of a list of numbers (the upper one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * Seconds per step of each trainer ({engine, nextBatch, stepOptions?}), round by round:
 * [trainers][rounds]. Each step takes the trainer's stepOptions() where it has them, else `sgd`.
 * A burst is about `samples` samples; the trainers first take turns for `warmupSeconds`.
 */
export async function timeBursts(trainers, { samples, bs, rounds, warmupSeconds, sgd }) {
  const steps = Math.max(1, Math.round(samples / bs));
  const burst = async (t) => {
    const start = performance.now();
    for (let s = 0; s < steps; s++) await t.engine.step(t.nextBatch(), t.stepOptions ? t.stepOptions() : sgd);
    return (performance.now() - start) / 1000 / steps;
  };
  const warmUntil = performance.now() + 1000 * warmupSeconds;
  while (performance.now() < warmUntil) for (const t of trainers) await burst(t);
  const times = trainers.map(() => []);
  for (let r = 0; r < rounds; r++) for (const [i, t] of trainers.entries()) times[i].push(await burst(t));
  return times;
}
