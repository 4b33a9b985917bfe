import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Arena, createTrainer, fit, mlpLayout, oneCycleSchedule, type Dataset, type KernelName } from '../dist/index.js';

// Step-for-step agreement with PyTorch 1.13: OneCycleLR's lr and momentum, and 100 steps of AdamW
// and of SGD with momentum under it, from the same weights on the same data. The figures were
// computed once with PyTorch (scripts/make-optim-fixtures.py) and committed. The engine runs worker
// threads, which load the built code: this test uses dist/.

interface Run {
  maxLr: number;
  weightDecay: number;
  lr: number[];
  loss64: number[];
  final64: Record<string, number[]>;
  final32: Record<string, number[]>;
  betas?: [number, number];
  eps?: number;
  beta1?: number[];
  momentum?: number[];
}
interface Fixture {
  torch: string;
  onecycle: { totalSteps: number; maxLr: number; sgd: { lr: number[]; momentum: number[] }; adamw: { lr: number[]; beta1: number[] } };
  training: { sizes: number[]; n: number; bs: number; steps: number; x: number[]; y: number[]; init: Record<string, number[]>; adamw: Run; sgd: Run };
}
const ref = JSON.parse(readFileSync('test/fixtures/optim-reference.json', 'utf8')) as Fixture;

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe("one-cycle schedule against PyTorch's OneCycleLR (fastai's defaults)", () => {
  it(`every step of a ${ref.onecycle.totalSteps}-step schedule: lr and momentum (SGD) or beta1 (AdamW) to 1e-12 relative`, () => {
    const o = ref.onecycle;
    const s = oneCycleSchedule({ maxLr: o.maxLr, totalSteps: o.totalSteps, cycleMomentum: true });
    let worst = 0;
    for (let k = 0; k < o.totalSteps; k++) {
      worst = Math.max(worst, relErr(s.lr(k), o.sgd.lr[k]), relErr(s.momentum(k)!, o.sgd.momentum[k]), relErr(s.lr(k), o.adamw.lr[k]), relErr(s.momentum(k)!, o.adamw.beta1[k]));
    }
    expect(worst).toBeLessThan(1e-12);
    // the shape itself: max lr and base momentum at the end of the first quarter, min lr at the end
    expect(s.lr(249)).toBe(o.maxLr);
    expect(s.momentum(249)).toBe(0.85);
    expect(s.lr(999)).toBeCloseTo(o.maxLr / 25 / 1e5, 15);
  });

  it('without a momentum to cycle, it leaves the momentum to the optimizer', () => {
    const s = oneCycleSchedule({ maxLr: 0.1, totalSteps: 10, cycleMomentum: false });
    expect(s.momentum(3)).toBeNull();
  });
});

/** The fixture's data as a dataset (validated on its own rows), and its weights in the model layout. */
function fixtureData(): { data: Dataset; init: Float32Array; flat: (w: Record<string, number[]>) => Float64Array } {
  const t = ref.training;
  const nIn = t.sizes[0];
  const split = { x: Float32Array.from(t.x), y: Int32Array.from(t.y), n: t.n, nIn };
  const layout = mlpLayout(t.sizes);
  const flat = (w: Record<string, number[]>) => {
    const out = new Float64Array(layout.count);
    for (const s of layout.tensors) out.set(w[s.name], s.offset);
    return out;
  };
  return { data: { train: split, valid: split, nIn, nClasses: t.sizes[t.sizes.length - 1], source: 'optim-reference' }, init: Float32Array.from(flat(t.init)), flat };
}

async function train(which: 'adamw' | 'sgd', kernel: KernelName, threads: number): Promise<{ weights: Float32Array; losses: number[]; lrs: number[] }> {
  const t = ref.training;
  const run = t[which];
  const { data, init } = fixtureData();
  const arena = new Arena();
  const { engine, loader } = createTrainer(data, { hidden: t.sizes.slice(1, -1), batchSize: t.bs, shuffle: false, kernel, threads, optimizer: which, momentum: which === 'sgd' }, arena);
  const losses: number[] = [];
  const lrs: number[] = [];
  try {
    engine.setWeights(init);
    await fit(
      engine,
      loader,
      {
        epochs: Math.ceil(t.steps / loader.length),
        maxSteps: t.steps,
        lr: run.maxLr,
        schedule: oneCycleSchedule({ maxLr: run.maxLr, totalSteps: t.steps, cycleMomentum: true }),
        weightDecay: run.weightDecay,
        ...(which === 'adamw' ? { adamw: { beta1: run.betas![0], beta2: run.betas![1], eps: run.eps! } } : { momentum: 0.9 }),
      },
      [{ afterStep: (e) => (losses.push(e.loss), lrs.push(e.lr)) }],
    );
    return { weights: engine.weights(), losses, lrs };
  } finally {
    await engine.close();
  }
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const which of ['adamw', 'sgd'] as const) {
  describe(`${which === 'adamw' ? 'AdamW' : 'SGD with momentum'} and one-cycle: ${ref.training.steps} steps against PyTorch`, () => {
    for (const [kernel, threads] of [
      ['wasm', 1],
      ['wasm', 2],
      ['js', 2],
    ] as const) {
      it(`${kernel} kernel, ${threads} thread(s): the losses and final weights agree to 1e-5 max abs`, async () => {
        const run = ref.training[which];
        const { flat, init } = fixtureData();
        const got = await train(which, kernel, threads);
        expect(got.lrs).toHaveLength(ref.training.steps);
        for (let k = 0; k < got.lrs.length; k++) expect(relErr(got.lrs[k], run.lr[k])).toBeLessThan(1e-12);
        expect(maxAbs(got.losses, run.loss64)).toBeLessThan(1e-5);
        const want = flat(run.final64);
        expect(maxAbs(got.weights, want)).toBeLessThan(1e-5);
        // and the run went somewhere: the weights moved by far more than the tolerance
        expect(maxAbs(init, want)).toBeGreaterThan(0.1);
      });
    }
  });
}
