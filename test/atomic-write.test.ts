import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

// atomicWrite when the file system fails: the failure is one DataError naming the file in words,
// the old file is kept, no temporary file is left. The failures are made on purpose: node:fs is
// wrapped so that one call throws the error a full disk, a read-only file system or a refusing
// folder would give.
const failing: { calls: string[]; code: string } = { calls: [], code: '' };
const fsyncs: number[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fail = (call: string) => {
    if (failing.calls.includes(call)) throw Object.assign(new Error(`${failing.code}: simulated`), { code: failing.code });
  };
  return {
    ...fs,
    openSync: (...a: Parameters<typeof fs.openSync>) => (fail('open'), fs.openSync(...a)),
    writeSync: (...a: Parameters<typeof fs.writeSync>) => (fail('write'), (fs.writeSync as (...x: unknown[]) => number)(...a)),
    fsyncSync: (fd: number) => (fail('fsync'), fsyncs.push(fd), fs.fsyncSync(fd)),
    renameSync: (...a: Parameters<typeof fs.renameSync>) => (fail('rename'), fs.renameSync(...a)),
    rmSync: (...a: Parameters<typeof fs.rmSync>) => (fail('rm'), fs.rmSync(...a)),
  };
});
const { atomicWrite } = await import('../src/io/atomic-write.js');

const dir = mkdtempSync(join(tmpdir(), 'mlp-atomic-'));
afterEach(() => {
  failing.calls = [];
  fsyncs.length = 0;
});

describe('atomicWrite', () => {
  it('writes the file, flushes it and then its folder', () => {
    const file = join(dir, 'ok.bin');
    atomicWrite(file, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    expect(fsyncs).toHaveLength(2); // the temporary file, then the folder after the rename
  });

  for (const [call, code, words] of [
    ['write', 'ENOSPC', 'no space left on the device'],
    ['open', 'EROFS', 'the file system is read-only'],
    ['open', 'EACCES', 'permission denied'],
    ['rename', 'EDQUOT', 'the disk quota is used up'],
    ['fsync', 'EIO', 'an input/output error on the device'],
  ]) {
    it(`${code} at ${call}: "${words}", the old file kept, no temporary file left`, () => {
      const file = join(dir, `${code}.bin`);
      writeFileSync(file, 'old');
      failing.calls = [call];
      failing.code = code;
      expect(() => atomicWrite(file, new Uint8Array([9]))).toThrow(`${file}: could not write it: ${words}`);
      failing.calls = [];
      expect(readFileSync(file, 'utf8')).toBe('old');
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('a clean-up that fails too does not hide the first failure', () => {
    const file = join(dir, 'cleanup.bin');
    failing.calls = ['write', 'rm']; // the temporary file cannot be removed either
    failing.code = 'ENOSPC';
    const first = (() => {
      try {
        atomicWrite(file, new Uint8Array([1]));
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(first).toBe(`${file}: could not write it: no space left on the device`);
    expect(existsSync(file)).toBe(false);
    failing.calls = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.tmp'))) rmSync(join(dir, f));
  });
});
