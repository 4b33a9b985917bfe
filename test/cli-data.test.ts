import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

const fixtures = join(ROOT, 'test/fixtures');
const dir = mkdtempSync(join(tmpdir(), 'mlp-cli-data-'));

describe('train --data', () => {
  for (const data of ['mnist-py2-p2.pkl.gz', 'mnist-py3-p5.pkl.gz', 'idx', 'idx-gz']) {
    it(`trains on ${data}`, async () => {
      const r = await runCli('train.js', ['--threads', '2', '--data', join(fixtures, data), '--epochs', '2', '--bs', '20', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(done.event).toBe('done');
      expect(done.steps).toBe(10); // 100 training rows, bs 20, 2 epochs
    });
  }

  const bad: [string, () => string, RegExp][] = [
    ['a missing path', () => join(dir, 'nothing-here'), /nothing-here: no such file or folder/],
    ['a hostile pickle', () => join(fixtures, 'evil-os-system.pkl'), /evil-os-system\.pkl: refused pickle global 'os system'/],
    ['a .gz that is not gzip', () => (writeFileSync(join(dir, 'fake.pkl.gz'), 'not gzip at all'), join(dir, 'fake.pkl.gz')), /fake\.pkl\.gz: named \.gz but is not gzip data/],
  ];
  for (const [what, path, message] of bad) {
    it(`refuses ${what} with one line, exit 1, and writes nothing`, async () => {
      const save = join(dir, `never-${what.replace(/\W+/g, '-')}.safetensors`);
      const r = await runCli('train.js', ['--threads', '2', '--data', path(), '--save', save]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(save)).toBe(false);
    });
  }
});
