import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../dist/index.js';
import { PoissonLoader } from '../src/train/poisson-loader.js';
import { epsilonAfter } from '../src/privacy/rdp.js';
import { figures, runCli } from './helpers/cli.js';

// DP-SGD through the command line: the flags that go together, the figures it reports, and the same
// bytes across --resume (thread counts: test/equivalence.test.ts).
const dir = mkdtempSync(join(tmpdir(), 'mlp-dp-'));
const small = ['--train-rows', '2000', '--valid-rows', '500', '--json', '--bs', '64', '--lr', '1', '--clip', '1', '--noise', '1.1', '--sampling', 'poisson', '--momentum', '0.5'];

describe('DP-SGD flags', () => {
  for (const [args, message] of [
    [['--noise', '1'], /^train: error: --noise needs --clip C/],
    [['--clip', '0'], /^train: error: --clip must be a positive number, got '0'/],
    [['--clip', '-1'], /^train: error: --clip must be a positive number, got '-1'/],
    [['--noise', '1', '--clip', '1'], /^train: error: --noise needs --sampling poisson/],
    [['--noise', '1', '--clip', '1', '--sampling', 'uniform'], /^train: error: --noise needs --sampling poisson/],
    [['--target-epsilon', '3', '--noise', '1', '--clip', '1', '--sampling', 'poisson'], /^train: error: --target-epsilon chooses the noise multiplier: give it or --noise, not both/],
    [['--target-epsilon', '3', '--sampling', 'poisson'], /^train: error: --target-epsilon needs --clip C/],
    [['--delta', '1', '--clip', '1'], /^train: error: --delta must be a number between 0 and 1/],
    [['--sampling', 'random'], /^train: error: --sampling must be one of uniform, poisson/],
  ] as [string[], RegExp][]) {
    it(`refuses ${args.join(' ')} with one line and exit code 2, before any work`, async () => {
      const file = join(dir, `refused-${args.join('_')}.safetensors`);
      const r = await runCli('train.js', [...args, '--epochs', '1', '--save', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(() => readFileSync(file)).toThrow();
    });
  }
});

describe('DP-SGD runs', () => {
  it('reports ε and δ each epoch (the accountant\'s for its steps) and the per-sample gradient norms, in the table, --json and --log', async () => {
    const log = join(dir, 'dp.jsonl');
    const r = await runCli('train.js', [...small, '--epochs', '2', '--log', log]);
    expect(r.code, r.stderr).toBe(0);
    const epochs = figures(r.stdout).filter((l) => (l as { event: string }).event === 'epoch') as { steps: number; epsilon: number; delta: number; gradNorm: { mean: number; median: number; p95: number; max: number } }[];
    expect(epochs).toHaveLength(2);
    for (const e of epochs) {
      expect(e.delta).toBe(1e-5);
      expect(e.epsilon).toBeCloseTo(epsilonAfter(64 / 2000, 1.1, e.steps, 1e-5), 12);
      const g = e.gradNorm;
      expect(g.mean).toBeGreaterThan(0);
      expect(g.median).toBeLessThanOrEqual(g.p95);
      expect(g.p95).toBeLessThanOrEqual(g.max);
    }
    expect(epochs[1].epsilon).toBeGreaterThan(epochs[0].epsilon);
    const logged = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(logged.map((l) => [l.epsilon, l.delta, l.gradNorm])).toEqual(epochs.map((e) => [e.epsilon, e.delta, e.gradNorm]));
    const text = await runCli('train.js', [...small.filter((a) => a !== '--json'), '--epochs', '1']);
    expect(text.stdout).toMatch(/DP-SGD: Poisson sampling \(q 0\.0320\), clip 1, noise 1\.1, δ 0\.00001/);
    expect(text.stdout).toMatch(/^epoch  train_loss  valid_loss  valid_acc  samples\/s  seconds  epsilon$/m);
  });

  it('--target-epsilon chooses the noise that spends that ε over the run, and the run ends within it', async () => {
    const r = await runCli('train.js', [...small.filter((a, i, all) => a !== '--noise' && all[i - 1] !== '--noise'), '--epochs', '2', '--target-epsilon', '2']);
    expect(r.code, r.stderr).toBe(0);
    const last = figures(r.stdout).filter((l) => (l as { event: string }).event === 'epoch').at(-1) as { epsilon: number };
    expect(last.epsilon).toBeLessThanOrEqual(2);
    expect(last.epsilon).toBeGreaterThan(2 - 0.01);
  });

  it('stopped mid-epoch and resumed, ends with the same bytes and the same figures (norms and ε too) as a run that never stopped', async () => {
    const full = join(dir, 'dp-full.safetensors');
    const half = join(dir, 'dp-half.safetensors');
    const rest = join(dir, 'dp-rest.safetensors');
    const a = await runCli('train.js', ['--threads', '2', ...small, '--epochs', '2', '--save', full]);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli('train.js', ['--threads', '2', ...small, '--epochs', '2', '--steps', '45', '--save', half]); // 32 steps an epoch: stops in the second
    expect(b.code, b.stderr).toBe(0);
    const st = decodeSafetensors(readFileSync(half), half);
    expect(Number(st.metadata.epsilon)).toBeCloseTo(epsilonAfter(64 / 2000, 1.1, 45, 1e-5), 12);
    expect(JSON.parse(st.metadata.progress).gradNorms.length).toBeGreaterThan(0);
    const c = await runCli('train.js', ['--threads', '1', '--resume', half, '--json', '--save', rest]);
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(rest).equals(readFileSync(full))).toBe(true);
    const lastEpoch = (r: { stdout: string }) => figures(r.stdout).filter((l) => (l as { event: string }).event === 'epoch').at(-1);
    expect(lastEpoch(c)).toEqual(lastEpoch(a));
  });
});

describe('Poisson batches', () => {
  it('take each row with probability bs / n: sizes average q n, batches are the same for a seed and step, sometimes empty', () => {
    const loader = new PoissonLoader(10_000, 50, 3);
    let total = 0;
    const steps = 400;
    for (let t = 1; t <= steps; t++) {
      const ids = loader.batch(t);
      total += ids.length;
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
    }
    expect(Math.abs(total / steps - 50)).toBeLessThan(4 * Math.sqrt(50 / steps));
    expect(Array.from(new PoissonLoader(10_000, 50, 3).batch(17))).toEqual(Array.from(loader.batch(17)));
    expect(Array.from(new PoissonLoader(10_000, 50, 4).batch(17))).not.toEqual(Array.from(loader.batch(17)));
    const sparse = new PoissonLoader(1000, 1, 5);
    let empty = 0;
    for (let t = 1; t <= 200; t++) if (sparse.batch(t).length === 0) empty++;
    expect(empty).toBeGreaterThan(40); // (1 - 1/1000)^1000 = 37% of steps
    expect(loader.length).toBe(200);
    expect(loader.maxBatch).toBeGreaterThan(50 + 60);
  });

  it('trains through empty batches (weight decay, momentum and noise still apply)', async () => {
    const r = await runCli('train.js', ['--train-rows', '300', '--valid-rows', '100', '--json', '--bs', '1', '--sampling', 'poisson', '--clip', '1', '--noise', '1', '--epochs', '1', '--lr', '0.001', '--momentum', '0.9']);
    expect(r.code, r.stderr).toBe(0);
    const e = figures(r.stdout)[0] as { steps: number; samples: number };
    expect(e.steps).toBe(300);
    expect(e.samples).toBeLessThan(400);
  });
});
