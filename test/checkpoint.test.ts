import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../dist/index.js';
import { ROOT, figures, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-ckpt-'));
const fixtures = join(ROOT, 'test/fixtures/safetensors');
const small = ['--train-rows', '2000', '--valid-rows', '500', '--json', '--momentum', '0.9', '--lr', '0.05'];

async function ok(args: string[]) {
  const r = await runCli('train.js', args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe('resume', () => {
  it('2 epochs in one go = 1 epoch, then --resume for 1 more (other thread count): same bytes, same figures', async () => {
    const full = join(dir, 'full.safetensors');
    const half = join(dir, 'half.safetensors');
    const rest = join(dir, 'rest.safetensors');
    const a = await ok(['--threads', '2', ...small, '--epochs', '2', '--save', full]);
    await ok(['--threads', '2', ...small, '--epochs', '1', '--save', half]);
    const b = await ok(['--threads', '1', '--resume', half, '--epochs', '2', '--json', '--save', rest]);
    expect(readFileSync(rest).equals(readFileSync(full))).toBe(true);
    const epochs = (r: { stdout: string }) => figures(r.stdout).filter((l) => (l as { event: string }).event === 'epoch');
    expect(epochs(b)).toEqual(epochs(a).slice(1));
  });

  it('AdamW with one-cycle, stopped mid-epoch by --steps and resumed on another thread count: the same bytes and figures as a straight run', async () => {
    const adamw = ['--train-rows', '2000', '--valid-rows', '500', '--json', '--opt', 'adamw', '--schedule', 'onecycle', '--lr', '0.01', '--bs', '64', '--epochs', '2'];
    const straight = join(dir, 'adamw-straight.safetensors');
    const cut = join(dir, 'adamw-cut.safetensors');
    const rest = join(dir, 'adamw-rest.safetensors');
    const a = await ok(['--threads', '2', ...adamw, '--save', straight]);
    await ok(['--threads', '3', ...adamw, '--steps', '45', '--save', cut]); // 32 steps an epoch: inside the second
    const st = decodeSafetensors(readFileSync(cut), cut);
    expect(st.metadata.step).toBe('45');
    expect([...st.tensors.keys()].filter((k) => k.startsWith('optim.')).sort()).toEqual(
      ['0.bias', '0.weight', '2.bias', '2.weight'].flatMap((t) => [`optim.${t}.exp_avg`, `optim.${t}.exp_avg_sq`]).sort(),
    );
    const b = await ok(['--threads', '1', '--resume', cut, '--json', '--save', rest]);
    expect(readFileSync(rest).equals(readFileSync(straight))).toBe(true);
    const epochs = (r: { stdout: string }) => figures(r.stdout).filter((l) => (l as { event: string }).event === 'epoch');
    expect(epochs(b)).toEqual(epochs(a).slice(1));
  });

  it('SIGINT stops after the step, saves a loadable checkpoint, exits 130; resuming it ends where a straight run ends', async () => {
    const full = join(dir, 'straight.safetensors');
    const cut = join(dir, 'interrupted.safetensors');
    const done = join(dir, 'finished.safetensors');
    // The js kernel, slow enough that the signal lands inside the epoch.
    const args = ['--train-rows', '20000', '--valid-rows', '300', '--epochs', '1', '--json', '--kernel', 'js'];
    await ok(['--threads', '2', ...args, '--save', full]);
    // Text mode, so that the header line tells when training starts.
    const textArgs = args.filter((a) => a !== '--json');
    const child = spawn(process.execPath, [join(ROOT, 'dist/train.js'), '--threads', '2', ...textArgs, '--save', cut], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    const closed = new Promise<number | null>((r) => child.on('close', r));
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((r) => child.stdout.on('data', (d) => (stdout += d).includes('MLP 784-50-10') && r()));
    await new Promise((r) => setTimeout(r, 400)); // a few dozen steps into the epoch
    child.kill('SIGINT');
    const code = await closed;
    expect(code).toBe(130);
    expect(stderr).toMatch(/SIGINT: stopping after this step/);
    expect(stdout).toMatch(/saved checkpoint to .*interrupted\.safetensors \(epoch 1, step \d+; --resume it to go on\)/);
    const st = decodeSafetensors(readFileSync(cut), cut);
    const steps = Number(st.metadata.step);
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(400); // stopped inside the epoch
    expect(st.tensors.get('0.weight')?.shape).toEqual([50, 784]);
    await ok(['--threads', '1', '--resume', cut, '--save', done, '--json']);
    expect(readFileSync(done).equals(readFileSync(full))).toBe(true);
  });

  it('refuses a file that is not a checkpoint of this trainer', async () => {
    const r = await runCli('train.js', ['--resume', join(fixtures, 'torch-784-50-10.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a checkpoint this trainer wrote .*--init-from/);
  });
});

describe('checkpoints', () => {
  it('hold PyTorch names, the optimizer state as extra tensors, and the run in the metadata', async () => {
    const file = join(dir, 'meta.safetensors');
    await ok(['--threads', '2', ...small, '--epochs', '1', '--save', file, '--seed', '11']);
    const st = decodeSafetensors(readFileSync(file), file);
    expect([...st.tensors.keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', 'optim.0.weight.momentum_buffer', 'optim.0.bias.momentum_buffer', 'optim.2.weight.momentum_buffer', 'optim.2.bias.momentum_buffer']);
    expect(st.metadata.format).toBe('pt');
    expect(JSON.parse(st.metadata.sizes)).toEqual([784, 50, 10]);
    const settings = JSON.parse(st.metadata.settings);
    expect(settings).toMatchObject({ bs: 50, lr: 0.05, momentum: 0.9, seed: 11, hidden: [50], shuffle: true });
    const progress = JSON.parse(st.metadata.progress);
    expect(progress).toMatchObject({ epoch: 2, batch: 0, steps: 40 });
    expect(progress.samplerState).toHaveLength(4);
  });

  it('--checkpoint-every writes the checkpoint at those epochs', async () => {
    const file = join(dir, 'every.safetensors');
    const r = await runCli('train.js', ['--threads', '2', '--train-rows', '500', '--valid-rows', '100', '--epochs', '3', '--checkpoint-every', '2', '--save', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(decodeSafetensors(readFileSync(file), file).metadata.progress).epoch).toBe(4); // the final save, after epoch 3
    const r2 = await runCli('train.js', ['--threads', '2', '--train-rows', '500', '--valid-rows', '100', '--epochs', '3', '--checkpoint-every', '2', '--steps', '25', '--save', join(dir, 'every2.safetensors'), '--json']);
    expect(r2.code).toBe(0);
    // 10 steps an epoch: the epoch-2 checkpoint was written; the final save then recorded step 25.
    expect(decodeSafetensors(readFileSync(join(dir, 'every2.safetensors')), 'x').metadata.step).toBe('25');
  });

  it('round-trips through the safetensors encoder and decoder', () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i / 7);
    const b = new Float32Array([-1, 2]);
    const bytes = encodeSafetensors([{ name: 'a', shape: [2, 3], data: a }, { name: 'b', shape: [2], data: b }], { note: 'x' });
    expect(new DataView(bytes.buffer).getBigUint64(0, true) % 8n).toBe(0n);
    const st = decodeSafetensors(bytes, 'mem');
    expect(st.metadata).toEqual({ note: 'x' });
    const t = st.tensors.get('a')!;
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(new Float32Array(t.bytes.slice().buffer))).toEqual(Array.from(a));
    expect(Array.from(new Float32Array(st.tensors.get('b')!.bytes.slice().buffer))).toEqual([-1, 2]);
  });
});

describe('--init-from', () => {
  it('starts from a safetensors file written from the published layout (numpy fixture)', async () => {
    const out = join(dir, 'from-fixture.safetensors');
    await ok(['--threads', '2', '--init-from', join(fixtures, 'torch-784-50-10.safetensors'), '--steps', '0', '--valid-rows', '200', '--save', out]);
    const expected = JSON.parse(readFileSync(join(fixtures, 'torch-784-50-10.expected.json'), 'utf8')) as Record<string, number[]>;
    const st = decodeSafetensors(readFileSync(out), out);
    for (const [name, values] of Object.entries(expected)) {
      const v = new Float32Array(new Uint8Array(st.tensors.get(name)!.bytes).buffer); // a copy: Buffer views share a pool
      expect([...v.subarray(0, 5), v[v.length - 1]]).toEqual(values.map(Math.fround));
    }
  });

  for (const [file, message] of [
    ['wrong-name.safetensors', /holds no '0\.weight' tensor/],
    ['wrong-shape.safetensors', /tensor '2\.weight' has shape \[9, 50\], this model needs \[10, 50\]/],
    ['wrong-dtype.safetensors', /tensor '0\.bias' is F64, expected F32/],
  ] as const) {
    it(`refuses ${file} with one line`, async () => {
      const save = join(dir, `never-${file}`);
      const r = await runCli('train.js', ['--threads', '1', '--init-from', join(fixtures, file), '--steps', '0', '--save', save]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(save)).toBe(false);
    });
  }
});

describe('a second Ctrl-C', () => {
  it('ends the run at once and writes no checkpoint', async () => {
    const file = join(dir, 'never-written.safetensors');
    // The js kernel on all 10,000 validation rows: the final evaluation after the first signal takes
    // long enough for the second to land before the save.
    const child = spawn(process.execPath, [join(ROOT, 'dist/train.js'), '--threads', '1', '--kernel', 'js', '--train-rows', '20000', '--epochs', '1', '--save', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (code, signal) => r([code, signal])));
    let stdout = '';
    await new Promise<void>((r) => child.stdout.on('data', (d) => (stdout += d).includes('MLP 784-50-10') && r()));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const [code, signal] = await closed;
    expect(code === 130 || signal === 'SIGINT').toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});

describe('a checkpoint whose metadata lies', () => {
  it('is refused before its claimed sizes are allocated', async () => {
    const good = join(dir, 'honest.safetensors');
    await ok(['--threads', '1', '--train-rows', '200', '--valid-rows', '100', '--epochs', '1', '--save', good]);
    const st = decodeSafetensors(readFileSync(good), good);
    const tensors = [...st.tensors].map(([name, t]) => ({ name, shape: t.shape, data: new Float32Array(new Uint8Array(t.bytes).buffer) }));
    const liar = join(dir, 'liar.safetensors');
    writeFileSync(liar, encodeSafetensors(tensors, { ...st.metadata, sizes: '[784,1000000,10]' }));
    const r = await runCli('train.js', ['--threads', '1', '--resume', liar]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/liar\.safetensors: its sizes \[784, 1000000, 10\] need \d+ float32 weights, but its tensors hold \d+ bytes/);
  });
});
