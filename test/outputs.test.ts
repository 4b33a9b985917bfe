import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, type CliResult } from './helpers/cli.js';

// What a run writes, and what it must never destroy: outputs that clash with inputs or with each
// other, outputs that are not regular files, writes the system refuses; a closed stdout; switches
// and numbers given loosely; signals in a long step and while loading.
const dir = mkdtempSync(join(tmpdir(), 'mlp-outputs-'));
const quick = ['--threads', '1', '--train-rows', '200', '--valid-rows', '50', '--epochs', '1'];

/** One line on stderr, the exit code, nothing on stdout, no stack trace. */
function refused(r: CliResult, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+|internal error/);
}

describe('outputs that would destroy inputs, or each other, are refused before any work', () => {
  const ck = join(dir, 'ck.safetensors');
  const data = join(dir, 'data.pkl');
  copyFileSync(join(ROOT, 'test/fixtures/small-p2.pkl'), data);
  const dataBefore = readFileSync(data);
  const link = join(dir, 'link-to-data.pkl');
  symlinkSync(data, link);

  let ckBefore = Buffer.alloc(0);
  it('makes a checkpoint to play with', async () => {
    const r = await runCli('train.js', [...quick, '--save', ck]);
    expect(r.code, r.stderr).toBe(0);
    ckBefore = readFileSync(ck);
  });

  const cases: [string, () => [string, string[]], RegExp][] = [
    ['--log onto the --resume checkpoint', () => ['train.js', ['--threads', '1', '--resume', ck, '--log', ck]], /--log .* would overwrite --resume/],
    ['--save onto the --data file', () => ['train.js', [...quick, '--data', data, '--save', data]], /--save .* would overwrite --data/],
    ['--save onto a link to the --data file', () => ['train.js', [...quick, '--data', data, '--save', link]], /--save .* would overwrite --data/],
    ['--log and --plot on one file', () => ['train.js', [...quick, '--log', join(dir, 'x'), '--plot', join(dir, 'x')]], /--log and --plot name the same file/],
    ['--save and --log on one file', () => ['train.js', [...quick, '--save', join(dir, 'y'), '--log', join(dir, 'y')]], /--save and --log name the same file/],
    ['--save onto the --init-from weights', () => ['train.js', [...quick, '--init-from', ck, '--save', ck]], /--save .* would overwrite --init-from/],
    ['eval --errors onto the --model', () => ['eval.js', ['--threads', '1', '--model', ck, '--errors', ck]], /--errors .* would overwrite --model/],
    ['lr-find --plot onto the --data file', () => ['lr-find.js', ['--threads', '1', '--data', data, '--plot', data]], /--plot .* would overwrite --data/],
    ['--save onto a device', () => ['train.js', [...quick, '--save', '/dev/null']], /--save \/dev\/null: is not a regular file/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const [script, a] = args();
      refused(await runCli(script, a), 2, message);
      expect(readFileSync(data).equals(dataBefore)).toBe(true);
      expect(readFileSync(ck).equals(ckBefore)).toBe(true);
    });
  }

  it('--log naming a FIFO is refused at once instead of blocking in open', async () => {
    const fifo = join(dir, 'log.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const start = Date.now();
    refused(await runCli('train.js', [...quick, '--log', fifo], { timeoutMs: 10_000 }), 2, /--log .*log\.fifo: is not a regular file/);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('--save over its own --resume continues the run in place, as asked', async () => {
    const own = join(dir, 'own.safetensors');
    copyFileSync(ck, own);
    const r = await runCli('train.js', ['--threads', '1', '--resume', own, '--epochs', '2', '--save', own]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(own).equals(readFileSync(ck))).toBe(false);
  });
});

describe('a write the system refuses is one line naming the file, and the old file stays', () => {
  it('a checkpoint name too long for the file system, before any training', async () => {
    refused(await runCli('train.js', [...quick, '--save', join(dir, `${'n'.repeat(300)}.safetensors`)]), 2, /--save: the file name is longer than the 255 bytes a file system allows/);
  });

  it('the model too large for the shared memory', async () => {
    refused(await runCli('train.js', ['--threads', '1', '--hidden', '65536,65536', '--epochs', '1']), 2, /need 16\.\d\d GiB of shared memory, over WebAssembly's 4 GiB/);
  });
});

describe('switches and numbers are read strictly', () => {
  for (const [args, message] of [
    [['--shuffle=maybe'], /--shuffle is a switch: give --shuffle or --no-shuffle, not '--shuffle=maybe'/],
    [['--json', '--json'], /--json is given more than once/],
    [['--no-shuffle', '--shuffle'], /--shuffle is given more than once/],
    [['--lr', '0x10'], /--lr must be a positive number, got '0x10'/],
    [['--momentum', 'Infinity'], /--momentum must be a number from 0 to 1, got 'Infinity'/],
  ] as [string[], RegExp][]) {
    it(args.join(' '), async () => refused(await runCli('train.js', [...quick, ...args]), 2, message));
  }
});

/** A train run whose stdout the reader closes after the first line. */
function readOneLine(args: string[]): Promise<{ code: number | null; first: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/train.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let first = '';
    child.stdout.once('data', (d) => {
      first = String(d).split('\n')[0];
      child.stdout.destroy(); // the reader goes away, as `| head -n 1` does
    });
    child.on('close', (code) => resolve({ code, first }));
  });
}

describe('a closed stdout', () => {
  it('with --save, the run goes on quietly, saves, and exits 0', async () => {
    const file = join(dir, 'piped.safetensors');
    const r = await readOneLine(['--threads', '2', '--train-rows', '2000', '--valid-rows', '200', '--epochs', '3', '--save', file]);
    expect(r.first).toMatch(/^MLP 784-50-10/);
    expect(r.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    // it is the whole run's checkpoint: epoch 4 is next
    const header = readFileSync(file);
    expect(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString()).toContain('"epoch":"4"');
  });

  it('without --save, it exits as a filter whose reader left: 141', async () => {
    const r = await readOneLine(['--threads', '2', '--train-rows', '2000', '--valid-rows', '200', '--epochs', '50']);
    expect(r.code).toBe(141);
  });
});

describe('signals', () => {
  it('Ctrl-C while loading ends the run at once, writing nothing', async () => {
    const file = join(dir, 'loading.safetensors');
    const child = spawn(process.execPath, [join(ROOT, 'dist/train.js'), '--threads', '2', '--save', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise((r) => setTimeout(r, 150)); // Node is up, MNIST is being read
    const sent = Date.now();
    child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('close', (c, s) => r([c, s])));
    expect(Date.now() - sent).toBeLessThan(1000);
    expect(code === 130 || signal === 'SIGINT').toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('a second Ctrl-C in a long step quits at once, writing nothing', async () => {
    const file = join(dir, 'long-step.safetensors');
    // a step of several seconds: 50,000 rows through 784-1000-10
    const child = spawn(process.execPath, [join(ROOT, 'dist/train.js'), '--threads', '2', '--bs', '50000', '--hidden', '1000', '--epochs', '2', '--save', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise<void>((r) => child.stdout.on('data', (d) => (out += d).includes('MLP 784-1000-10') && r()));
    await new Promise((r) => setTimeout(r, 500)); // inside the first step
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 400));
    const sent = Date.now();
    child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('close', (c, s) => r([c, s])));
    expect(Date.now() - sent).toBeLessThan(1000);
    expect(code === 130 || signal === 'SIGINT').toBe(true);
    expect(err).toContain('SIGINT: stopping after this step (again to quit at once)');
    expect(existsSync(file)).toBe(false);
  }, 60_000);
});

// A write failure the system reports (a full disk, a read-only file system, no permission) cannot
// be had here without root: test/atomic-write.test.ts makes the file system fail on purpose.
