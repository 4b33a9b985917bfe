import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';

// `node dist/lr-find.js`: fastai's learning-rate finder through the command line (the sweep's rules
// and the suggestions themselves: test/lr-finder.test.ts).
const dir = mkdtempSync(join(tmpdir(), 'mlp-lr-find-'));
const small = ['--train-rows', '5000', '--json'];

interface Report {
  sizes: number[];
  steps: number;
  stopped: string | null;
  lrs: number[];
  losses: number[];
  suggestions: Record<string, number>;
}
const report = (r: CliResult): Report => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

/** The README's recipe: lr-find with its model, batches and optimizer must suggest a learning rate near the one it trains with. */
const RECIPE = { lr: 0.004, modelFlags: ['--opt', 'adamw', '--hidden', '256', '--bs', '64'] };

describe('lr-find', () => {
  it('sweeps the lr exponentially from 1e-7, stops once the loss diverges, and prints the same bytes at 1 and 2 threads', async () => {
    const [one, two] = await Promise.all([runCli('lr-find.js', ['--threads', '1', '--json']), runCli('lr-find.js', ['--threads', '2', '--json'])]);
    expect(two.stdout).toBe(one.stdout);
    const r = report(one);
    expect(r.sizes).toEqual([784, 50, 10]);
    expect(r.lrs[0]).toBe(1e-7);
    for (let i = 1; i < r.lrs.length; i++) expect(r.lrs[i] / r.lrs[i - 1]).toBeCloseTo(10 ** 0.08, 10); // 1e-7 to 10 over 100 steps
    expect(r.stopped).toBe('diverged');
    expect(r.steps).toBe(r.lrs.length);
    expect(r.steps).toBeLessThan(100);
    // it diverged: the last smoothed loss is over 4 times the lowest
    expect(r.losses[r.steps - 1]).toBeGreaterThan(4 * Math.min(...r.losses));
    expect(Object.keys(r.suggestions).sort()).toEqual(['minimum', 'steep', 'valley']);
    // valley sits on the descent: below the lowest loss's lr, above the start
    const lowest = r.lrs[r.losses.indexOf(Math.min(...r.losses))];
    expect(r.suggestions.valley).toBeGreaterThan(1e-6);
    expect(r.suggestions.valley).toBeLessThan(lowest);
  });

  it("suggests, for the README recipe's model and optimizer, a learning rate within 3 times the recipe's", async () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(`node dist/train.js ${RECIPE.modelFlags.join(' ')} --schedule onecycle --lr ${RECIPE.lr}`);
    const r = report(await runCli('lr-find.js', ['--threads', '2', '--json', ...RECIPE.modelFlags]));
    const ratio = RECIPE.lr / r.suggestions.valley;
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });

  it('--plot draws the sweep and the suggestions as an SVG that parses; --init-from is read and left as it is', async () => {
    const model = join(dir, 'start.safetensors');
    const trained = await runCli('train.js', ['--threads', '1', '--train-rows', '2000', '--valid-rows', '200', '--epochs', '1', '--save', model]);
    expect(trained.code, trained.stderr).toBe(0);
    const before = readFileSync(model);
    const mtime = statSync(model).mtimeMs;
    const plot = join(dir, 'lr.svg');
    const [fromModel, fresh] = await Promise.all([
      runCli('lr-find.js', ['--threads', '2', ...small, '--init-from', model, '--plot', plot]),
      runCli('lr-find.js', ['--threads', '2', ...small]),
    ]);
    const a = report(fromModel);
    expect(readFileSync(model).equals(before)).toBe(true);
    expect(statSync(model).mtimeMs).toBe(mtime);
    // a trained start has a lower first loss than a fresh one
    expect(a.losses[0]).toBeLessThan(report(fresh).losses[0]);
    expect(fromModel.stderr).toBe(`wrote the plot to ${plot}\n`);
    const xml = readFileSync(plot, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const text = JSON.stringify(new XMLParser({ ignoreAttributes: false }).parse(xml));
    for (const name of Object.keys(a.suggestions)) expect(text).toContain(name);
    expect(text).toContain('1e-7');
  });

  for (const [args, message] of [
    [['--end-lr', '1e-8'], /--end-lr must be above --start-lr/],
    [['--num-it', '0'], /--num-it must be an integer from 1/],
    [['--opt', 'adamw', '--momentum', '0.9'], /--momentum is SGD's/],
    [['--epochs', '3'], /Unknown argument: epochs/],
  ] as [string[], RegExp][]) {
    it(`refuses ${args.join(' ')} with one line and exit code 2`, async () => {
      const r = await runCli('lr-find.js', args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }
});
