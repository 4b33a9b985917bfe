import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineSchedule, oneCycleSchedule } from '../src/optim/schedule.js';

// The schedules' shapes (one-cycle against PyTorch's own figures: test/optim-reference.test.ts).
describe('learning-rate schedules', () => {
  it('constant: the same lr every step, the momentum left to the optimizer', () => {
    const s = constantSchedule(0.2);
    expect([s.lr(0), s.lr(12345)]).toEqual([0.2, 0.2]);
    expect(s.momentum(3)).toBeNull();
  });

  it("cosine without warmup is CosineAnnealingLR(T_max = steps, eta_min = 0): lr at 0, lr / 2 halfway, falling to 0", () => {
    const s = cosineSchedule(0.1, 100);
    expect(s.lr(0)).toBe(0.1);
    expect(s.lr(50)).toBeCloseTo(0.05, 15);
    expect(s.lr(25)).toBeCloseTo((0.1 * (1 + Math.cos(Math.PI / 4))) / 2, 15);
    for (let k = 1; k < 100; k++) expect(s.lr(k)).toBeLessThan(s.lr(k - 1));
    expect(s.lr(99)).toBeGreaterThan(0);
    expect(s.lr(99)).toBeLessThan(1e-4);
  });

  it("cosine with warmup is Hugging Face's get_cosine_schedule_with_warmup: a linear rise from 0, then the cosine over the rest", () => {
    const s = cosineSchedule(0.1, 110, 10);
    expect([s.lr(0), s.lr(5), s.lr(10)]).toEqual([0, 0.05, 0.1]);
    expect(s.lr(60)).toBeCloseTo(0.05, 15); // halfway through the 100 cosine steps
    expect(() => cosineSchedule(0.1, 10, 10)).toThrow(RangeError);
  });

  it('one-cycle over a short run: the lr peaks at the end of the first quarter and ends at max / div / final_div', () => {
    const s = oneCycleSchedule({ maxLr: 1, totalSteps: 20, cycleMomentum: true });
    const lrs = Array.from({ length: 20 }, (_, k) => s.lr(k));
    expect(lrs.indexOf(Math.max(...lrs))).toBe(4); // pct_start * 20 - 1
    expect(lrs[0]).toBeCloseTo(1 / 25, 15);
    expect(lrs[19]).toBeCloseTo(1 / 25 / 1e5, 18);
    expect(s.momentum(4)).toBe(0.85);
    expect(s.momentum(19)).toBeCloseTo(0.95, 15);
  });
});
