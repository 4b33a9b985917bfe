import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

// The README's library example, run exactly as printed: the code block under "As a library",
// importing the package by its name as a user's program would (Node resolves the package's own name
// from inside it).
describe("README's library example", () => {
  it('runs as printed and trains 784-50-10 to the accuracy its three epochs reach', () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## As a library'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain("await train({");
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code!], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const m = /^\[ 784, 50, 10 \] (\d+) (0\.\d+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(784 * 50 + 50 + 50 * 10 + 10);
    expect(Number(m![2])).toBeGreaterThan(0.95);
  });
});

describe('train(), the one-call library entry', () => {
  it('gives the bytes node dist/train.js gives with the same settings (AdamW, one cycle, two epochs)', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { decodeSafetensors, train } = await import('../dist/index.js');
    const file = join(mkdtempSync(join(tmpdir(), 'mlp-train-api-')), 'cli.safetensors');
    const cli = spawnSync(
      process.execPath,
      ['dist/train.js', '--threads', '2', '--train-rows', '2000', '--valid-rows', '500', '--epochs', '2', '--bs', '64', '--opt', 'adamw', '--schedule', 'onecycle', '--lr', '0.004', '--hidden', '32', '--save', file],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const history: number[] = [];
    const t = await train({ threads: 1, trainRows: 2000, epochs: 2, batchSize: 64, opt: 'adamw', schedule: 'onecycle', lr: 0.004, hidden: [32], onEpoch: (e) => history.push(e.epoch) });
    expect(history).toEqual([1, 2]);
    expect(t.history.map((e) => e.steps)).toEqual([32, 64]);
    const st = decodeSafetensors(readFileSync(file), file);
    for (const spec of t.layout.tensors) {
      const saved = st.tensors.get(spec.name)!;
      const mine = t.weights.subarray(spec.offset, spec.offset + spec.length);
      expect(Buffer.from(saved.bytes).equals(Buffer.from(mine.buffer, mine.byteOffset, mine.byteLength)), spec.name).toBe(true);
    }
  });
});
