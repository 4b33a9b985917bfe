import { existsSync, mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-cli-'));

describe('train CLI', () => {
  it('--help lists the flags and exits 0', async () => {
    const r = await runCli('train.js', ['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--threads', '--epochs', '--bs', '--lr', '--hidden', '--seed', '--init', '--shuffle', '--steps', '--save', '--json']) {
      expect(r.stdout).toContain(flag);
    }
  });

  const bad: [string[], RegExp][] = [
    [['--threads', '0'], /--threads must be an integer from 1 to 256, got '0'/],
    [['--bs', '-3'], /--bs must be an integer >= 1, got '-3'/],
    [['--lr', 'abc'], /--lr must be a positive number, got 'abc'/],
    [['--hidden', '50,,x'], /--hidden must be a comma-separated list of integers/],
    [['--epochs', '1.5'], /--epochs must be an integer >= 1/],
    [['--init', 'xavier'], /--init must be one of kaiming, normal, got 'xavier'/],
    [['--save', join(dir, 'missing-folder', 'w.safetensors')], /--save .*the folder .*missing-folder does not exist/],
    [['--bogus'], /Unknown argument: bogus/],
    [['--bs', '5', '--bs', '6'], /--bs is given more than once/],
    [['--schedule', 'foo'], /--schedule must be one of constant, onecycle, cosine, got 'foo'/],
    [['--opt', 'adam'], /--opt must be one of sgd, adamw, got 'adam'/],
    [['--opt', 'adamw', '--momentum', '0.9'], /--momentum is SGD's: AdamW's first moment uses beta1/],
    [['--warmup', '5'], /--warmup is the cosine schedule's: it needs --schedule cosine/],
    [['--schedule', 'cosine', '--warmup', '20', '--train-rows', '1000', '--epochs', '1'], /--warmup 20 is not shorter than the run's 20 steps/],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${args.join(' ')} with one line before any work`, async () => {
      const r = await runCli('train.js', args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/); // no stack trace
    });
  }

  it('--steps 0 trains nothing, reports the initial model and still saves it', async () => {
    const file = join(dir, 'init.safetensors');
    const r = await runCli('train.js', ['--threads', '1', '--steps', '0', '--valid-rows', '500', '--save', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/done: 0 epochs, 0 steps, 0 samples/);
    expect(r.stdout).not.toMatch(/^\s+1\s/m); // no epoch row
    expect(existsSync(file)).toBe(true);
  });

  it('text output has a row per epoch and a final line', async () => {
    const r = await runCli('train.js', ['--threads', '2', '--train-rows', '500', '--valid-rows', '200', '--epochs', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^epoch\s+train_loss\s+valid_loss\s+valid_acc\s+samples\/s\s+seconds$/m);
    expect(r.stdout).toMatch(/^\s+1\s+\d+\.\d{4}\s+\d+\.\d{4}\s+\d+\.\d\d%\s+[\d,]+\s+\d+\.\d\d$/m);
    expect(r.stdout).toMatch(/^\s+2\s+/m);
    expect(r.stdout).toMatch(/^done: 2 epochs, 20 steps, 1,000 samples in .* valid_acc \d+\.\d\d%$/m);
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
  });

  it('--save replaces an existing file whole and leaves no temporary file', async () => {
    const file = join(dir, 'replace.safetensors');
    writeFileSync(file, 'old contents');
    const r = await runCli('train.js', ['--threads', '1', '--steps', '2', '--train-rows', '100', '--valid-rows', '100', '--save', file]);
    expect(r.code).toBe(0);
    expect(readFileSync(file).subarray(8, 9).toString()).toBe('{');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
