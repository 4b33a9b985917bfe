/**
 * Hostile data: what a tester handed the trainer to break its promise that bad input is one line on
 * stderr naming the file, a non-zero exit code and no stack trace. Gzip bombs (an IDX or a pickle
 * that inflates to gigabytes), a device or a FIFO as --data or inside an IDX folder, a raw file far
 * longer than its header says, empty splits, an empty numpy array. The hostile files are made here,
 * on the fly; the bombs cost a few MB on disk and are refused after inflating kilobytes.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, test } from 'vitest';
import { heapAllocator } from '../src/data/dataset.js';
import { Arena } from '../src/engine/arena.js';
import { arenaAllocator } from '../src/engine/arena-allocator.js';
import { SharedState } from '../src/engine/shared-state.js';
import { UserError } from '../src/errors.js';
import { idxReadLimits } from '../src/data/idx.js';
import { loadIdxSplit } from '../src/data/idx-split.js';
import { MAX_IDX_VALUES, MAX_PICKLE_BYTES, MAX_SPLIT_ROWS, SHARED_MEMORY_BYTES } from '../src/data/limits.js';
import { loadDataset } from '../src/data/load.js';
import { checkPicklePrefix } from '../src/data/pickle.js';
import { loadPklDataset, pickleReadLimits } from '../src/data/pkl-mnist.js';
import { GZIP_READ_CHUNK, readDataFile } from '../src/data/read-file.js';
import { type ArraySpec, dataError, f32Array, i64Array, PickleWriter, scratchDir, smallDataset, writeScratch } from './data-helpers.js';
import { runCli, type CliResult } from './helpers/cli.js';

const IDX = 'test/fixtures/idx'; // 125 training rows and 100 t10k rows of 28x28
const MODEL = 'test/fixtures/safetensors/torch-784-50-10.safetensors';
const scratch = scratchDir('data-hostile');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MiB = 2 ** 20;

// --- hostile files

/** An IDX file: the header for `dims`, then `values` (none by default). */
function idx(dims: number[], values: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 0x08, dims.length]);
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return Buffer.concat([header, values]);
}

/**
 * A gzip bomb of several members, each valid: `prefix`, then `mib` members of 1 MiB of zeros each
 * (about 1 KB apiece), so 4 GiB of output costs 4 MB of file and a few milliseconds to write.
 */
function writeBombMembers(path: string, prefix: Uint8Array, mib: number): string {
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const fd = openSync(path, 'w');
  writeSync(fd, gzipSync(prefix));
  for (let i = 0; i < mib; i++) writeSync(fd, zeros);
  closeSync(fd);
  return path;
}

/**
 * A gzip bomb of one member: `prefix` and `mib` MiB of zeros in one deflate stream, made of
 * full-flushed blocks (each stands alone, so one block of 1 MiB of zeros can be repeated). Its CRC is
 * not computed (it would take seconds over 4 GiB): a reader that stops at the declared size never
 * gets to it.
 */
function writeBombOneMember(path: string, prefix: Uint8Array, mib: number): string {
  const flush = { level: 9, finishFlush: constants.Z_FULL_FLUSH };
  const block = deflateRawSync(Buffer.alloc(MiB), flush);
  const fd = openSync(path, 'w');
  writeSync(fd, Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3)); // gzip, deflate, no flags, Unix
  writeSync(fd, deflateRawSync(prefix, flush));
  for (let i = 0; i < mib; i++) writeSync(fd, block);
  const trailer = new DataView(new ArrayBuffer(8));
  trailer.setUint32(4, (prefix.length + mib * MiB) % 2 ** 32, true); // ISIZE
  writeSync(fd, deflateRawSync(Buffer.alloc(0))); // the final, empty block
  writeSync(fd, new Uint8Array(trailer.buffer));
  closeSync(fd);
  return path;
}

/** A copy of the raw fixture folder, with files replaced (bytes), made FIFOs ('fifo') or removed (undefined). */
function idxFolder(name: string, change: Record<string, Uint8Array | 'fifo' | undefined>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(IDX)) if (!(f in change)) copyFileSync(join(IDX, f), join(dir, f));
  for (const [f, what] of Object.entries(change)) {
    if (what === 'fifo') mkfifo(join(dir, f));
    else if (what) writeFileSync(join(dir, f), what);
  }
  return dir;
}

function mkfifo(path: string): string {
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

/**
 * A numpy array as numpy pickles it under Python 3 in protocol 2 (less the memo): GLOBAL names, the
 * data as `_codecs.encode(text, 'latin1')`, or as `bytes()` when there is none.
 */
function protocol2Array(w: PickleWriter, a: ArraySpec): PickleWriter {
  w.global('numpy._core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).tupleN(1);
  w.global('_codecs', 'encode').str('b').str('latin1').tupleN(2).reduce().tupleN(3).reduce();
  w.mark().int(1).mark();
  for (const d of a.shape) w.int(d);
  w.tuple();
  w.global('numpy', 'dtype').str(a.dtype.slice(1)).bool(false).bool(true).tupleN(3).reduce();
  w.mark().int(3).str(a.dtype[0]).none().none().none().int(-1).int(-1).int(0).tuple().build();
  w.bool(false);
  if (a.data.length === 0) w.global('__builtin__', 'bytes').raw(0x29).reduce(); // EMPTY_TUPLE
  else w.global('_codecs', 'encode').str(String.fromCharCode(...a.data)).str('latin1').tupleN(2).reduce();
  return w.tuple().build();
}

/** ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)) in protocol 2, as Python 3 writes it. */
function protocol2Dataset(splits: [ArraySpec, ArraySpec][]): Uint8Array {
  const w = new PickleWriter().proto(2);
  for (const [x, y] of splits) protocol2Array(protocol2Array(w, x), y).tupleN(2);
  return w.tupleN(3).stop().finish();
}

/** smallDataset with split k emptied. */
function withEmptySplit(k: number): [ArraySpec, ArraySpec][] {
  const splits = smallDataset();
  splits[k] = [f32Array([0, 5], []), i64Array([])];
  return splits;
}

// --- the CLI's promise

const QUICK = ['--threads', '1', '--epochs', '1'];

/** One line on stderr, `command: error: PATH...`, no stack trace, nothing on stdout, `code`. */
function refused(r: CliResult, command: string, path: string, message: RegExp, code = 1): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0].startsWith(`${command}: error: ${path}`)).toBe(true);
  expect(lines[0]).toMatch(message);
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
}

/** runCli, timed. */
async function timed(script: string, args: string[]): Promise<CliResult & { seconds: number }> {
  const start = performance.now();
  const r = await runCli(script, args, { timeoutMs: 30_000 });
  return { ...r, seconds: (performance.now() - start) / 1000 };
}

describe('gzip bombs', () => {
  // The tester's: 19 MB of .gz that inflated to 4.36 GB for 27 s at 4.3 GB of memory, then crashed.
  const BOMB_MIB = 4158;

  it('an IDX .gz that inflates to 4.36 GB is refused at the size its header declares, in seconds', async () => {
    const dir = idxFolder('bomb-members', { 'train-images-idx3-ubyte': undefined });
    const file = writeBombMembers(join(dir, 'train-images-idx3-ubyte.gz'), idx([125, 28, 28]), BOMB_MIB);
    const r = await timed('train.js', ['--data', dir, ...QUICK]);
    refused(r, 'train', file, /: inflates past the 98016 bytes its IDX header declares \(125x28x28 values\)$/);
    expect(r.seconds).toBeLessThan(5);
  });

  it('the same bomb as one gzip member, in eval', async () => {
    const dir = idxFolder('bomb-one-member', { 't10k-images-idx3-ubyte': undefined });
    const file = writeBombOneMember(join(dir, 't10k-images-idx3-ubyte.gz'), idx([100, 28, 28]), BOMB_MIB);
    const r = await timed('eval.js', ['--model', MODEL, '--data', dir, '--split', 'test', '--threads', '1']);
    refused(r, 'eval', file, /: inflates past the 78416 bytes its IDX header declares \(100x28x28 values\)$/);
    expect(r.seconds).toBeLessThan(5);
  });

  it('a .pkl.gz bomb of zeros is refused at its first bytes', async () => {
    const file = writeBombMembers(join(scratch, 'zeros.pkl.gz'), Uint8Array.of(0x80, 2), BOMB_MIB);
    const r = await timed('train.js', ['--data', file, ...QUICK]);
    refused(r, 'train', file, /: unknown or unsupported pickle opcode 0x00 at byte 2$/);
    expect(r.seconds).toBeLessThan(5);
  });

  it('a .pkl.gz bomb that names a hostile global is refused before it inflates further', async () => {
    const evil = new PickleWriter().proto(2).global('os', 'system').finish();
    const file = writeBombOneMember(join(scratch, 'evil-bomb.pkl.gz'), evil, BOMB_MIB);
    const r = await timed('train.js', ['--data', file, ...QUICK]);
    refused(r, 'train', file, /: refused pickle global 'os system' \(only numpy array globals are allowed\)$/);
    expect(r.seconds).toBeLessThan(5);
  });

  it('a bomb not named as a pickle is refused at its first bytes too', async () => {
    const file = writeBombMembers(join(scratch, 'data.gz'), Uint8Array.of(0x42), BOMB_MIB);
    const r = await timed('train.js', ['--data', file, ...QUICK]);
    refused(r, 'train', file, /: not a dataset this trainer reads/);
    expect(r.seconds).toBeLessThan(5);
  });
});

describe('--data that is not a regular file or folder', () => {
  const device = /: is not a regular file or folder \(it is a character device\)$/;
  for (const script of ['train.js', 'lr-find.js']) {
    it(`${script} --data /dev/zero is refused unread`, async () => {
      refused(await timed(script, ['--data', '/dev/zero', '--threads', '1']), script.replace('.js', ''), '/dev/zero', device);
    });
  }

  it('eval --data /dev/zero is refused unread', async () => {
    refused(await timed('eval.js', ['--model', MODEL, '--data', '/dev/zero', '--threads', '1']), 'eval', '/dev/zero', device);
  });

  it('a link to /dev/zero is refused as what it points to', async () => {
    const link = join(scratch, 'zero-link.pkl');
    symlinkSync('/dev/zero', link);
    refused(await timed('train.js', ['--data', link, ...QUICK]), 'train', link, device);
  });

  it('a FIFO is refused at once instead of blocking in open', async () => {
    const fifo = mkfifo(join(scratch, 'data.fifo'));
    const r = await timed('train.js', ['--data', fifo, ...QUICK]);
    refused(r, 'train', fifo, /: is not a regular file or folder \(it is a FIFO\)$/);
    expect(r.seconds).toBeLessThan(5);
  });

  it('a FIFO named like an IDX file in the folder is refused, naming the file', async () => {
    const dir = idxFolder('fifo-inside', { 'train-images-idx3-ubyte': 'fifo' });
    const r = await timed('train.js', ['--data', dir, ...QUICK]);
    refused(r, 'train', join(dir, 'train-images-idx3-ubyte'), /: is not a regular file \(it is a FIFO\)$/);
    expect(r.seconds).toBeLessThan(5);
  });

  it('a folder named like an IDX file is refused, naming it', async () => {
    const dir = idxFolder('folder-inside', { 'train-labels-idx1-ubyte': undefined });
    mkdirSync(join(dir, 'train-labels-idx1-ubyte'));
    refused(await timed('train.js', ['--data', dir, ...QUICK]), 'train', join(dir, 'train-labels-idx1-ubyte'), /: is a folder, expected a file$/);
  });
});

describe('raw files longer than they declare', () => {
  it('an 8 GiB IDX file whose header declares 98,000 values is refused without reading it', async () => {
    const dir = idxFolder('sparse', {});
    const file = join(dir, 'train-images-idx3-ubyte');
    truncateSync(file, 8 * 2 ** 30); // sparse: no disk, but a read would take all of it
    const r = await timed('train.js', ['--data', dir, ...QUICK]);
    refused(r, 'train', file, new RegExp(`: ${8 * 2 ** 30 - 98_016} unexpected bytes after the 98016 bytes its IDX header declares \\(125x28x28 values\\)$`));
    expect(r.seconds).toBeLessThan(5);
    rmSync(file);
  });

  it('a pickle larger than the shared memory is refused without reading it', async () => {
    // a well-formed start: PROTO 4, then BINBYTES8 of 5 GiB
    const head = new PickleWriter().proto(4).raw(0x8e, 0, 0, 0, 0x40, 1, 0, 0, 0).finish();
    const file = writeScratch(scratch, 'huge.pkl', head);
    truncateSync(file, 5 * 2 ** 30);
    const r = await timed('train.js', ['--data', file, ...QUICK]);
    refused(r, 'train', file, /: is 5368709120 bytes, more than 1 GiB, the most a pickle may hold/);
    expect(r.seconds).toBeLessThan(5);
    rmSync(file);
  });
});

describe('empty splits', () => {
  const emptyT10k = () => idxFolder('empty-t10k', { 't10k-images-idx3-ubyte': idx([0, 28, 28]), 't10k-labels-idx1-ubyte': idx([0]) });

  it('an IDX folder whose t10k files hold no images is refused under --valid-split test', async () => {
    const dir = emptyT10k();
    refused(await timed('train.js', ['--data', dir, '--valid-split', 'test', ...QUICK]), 'train', join(dir, 't10k-images-idx3-ubyte'), /: holds no images$/);
  });

  it('and by eval --split test, naming the file', async () => {
    const dir = emptyT10k();
    refused(await timed('eval.js', ['--model', MODEL, '--data', dir, '--split', 'test', '--threads', '1']), 'eval', join(dir, 't10k-images-idx3-ubyte'), /: holds no images$/);
  });

  it('but trains when the empty t10k split is not used', async () => {
    const r = await timed('train.js', ['--data', emptyT10k(), ...QUICK]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('a pickle whose test split is empty is refused under --valid-split test', async () => {
    const file = writeScratch(scratch, 'empty-test.pkl', new PickleWriter().dataset(withEmptySplit(2)).finish());
    refused(await timed('train.js', ['--data', file, '--valid-split', 'test', ...QUICK]), 'train', file, /: the test split has no rows$/);
  });

  test.each([
    [0, 'train'],
    [1, 'valid'],
  ])('an empty numpy array in protocol 2 (split %i) is reported as the empty %s split, not as a refused global', async (k, name) => {
    const file = writeScratch(scratch, `empty-${name}-p2.pkl`, protocol2Dataset(withEmptySplit(k)));
    refused(await timed('train.js', ['--data', file, ...QUICK]), 'train', file, new RegExp(`: the ${name} split has no rows$`));
  });
});

// --- the loaders

describe('bounded reading', () => {
  const peakRss = () => process.resourceUsage().maxRSS * 1024;

  test('a 4 GiB one-member bomb stops at the declared size: well under a second, memory flat', () => {
    const file = writeBombOneMember(join(scratch, 'unit-bomb.gz'), idx([10, 28, 28]), 4096);
    const [peak, start] = [peakRss(), performance.now()];
    expect(dataError(() => readDataFile(file, idxReadLimits(file)), file).message).toBe(
      `${file}: inflates past the 7856 bytes its IDX header declares (10x28x28 values)`,
    );
    expect(performance.now() - start).toBeLessThan(1000);
    expect(peakRss() - peak).toBeLessThan(256 * MiB);
  });

  test('without a declared size, the cap bounds it', () => {
    const file = writeBombMembers(join(scratch, 'unit-capped.gz'), Uint8Array.of(1), 1024);
    const [peak, start] = [peakRss(), performance.now()];
    expect(dataError(() => readDataFile(file, { maxBytes: 32 * MiB, maxWhat: 'the 32 MiB cap' }), file).message).toBe(`${file}: inflates past the 32 MiB cap`);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(peakRss() - peak).toBeLessThan(256 * MiB);
  });

  test('output of exactly the bound is read; one byte more is refused', () => {
    const data = Buffer.alloc(100_000, 7);
    const file = writeScratch(scratch, 'exact.gz', gzipSync(data));
    expect(Buffer.from(readDataFile(file, { maxBytes: data.length, maxWhat: 'n' })).equals(data)).toBe(true);
    expect(dataError(() => readDataFile(file, { maxBytes: data.length - 1, maxWhat: 'the bound' }), file).message).toMatch(/inflates past the bound$/);
  });

  test('an IDX .gz of exactly its declared size loads; one byte more is refused', () => {
    const labels = idx([4], Uint8Array.of(0, 1, 2, 1));
    const good = writeScratch(scratch, 'labels-exact.gz', gzipSync(labels));
    expect(Buffer.from(readDataFile(good, idxReadLimits(good))).equals(labels)).toBe(true);
    const long = writeScratch(scratch, 'labels-long.gz', gzipSync(Buffer.concat([labels, Uint8Array.of(0)])));
    expect(dataError(() => readDataFile(long, idxReadLimits(long)), long).message).toBe(`${long}: inflates past the 12 bytes its IDX header declares (4 values)`);
  });

  test('a raw IDX file one byte longer than declared is refused', () => {
    const file = writeScratch(scratch, 'labels-raw-long', idx([4], Uint8Array.of(0, 1, 2, 1, 9)));
    expect(dataError(() => readDataFile(file, idxReadLimits(file)), file).message).toBe(`${file}: 1 unexpected bytes after the 12 bytes its IDX header declares (4 values)`);
  });

  test('an IDX header declaring more values than the shared memory holds is refused from its first bytes', () => {
    const file = writeScratch(scratch, 'too-many', idx([65536, 256, 65]));
    expect(dataError(() => readDataFile(file, idxReadLimits(file)), file).message).toBe(
      `${file}: the header declares 65536x256x65 values, more than the ${MAX_IDX_VALUES} that fit the trainer's 4 GiB of shared memory (4 bytes each once decoded)`,
    );
    expect(MAX_IDX_VALUES * 4).toBe(SHARED_MEMORY_BYTES);
    expect(pickleReadLimits(file).maxBytes).toBe(MAX_PICKLE_BYTES);
    expect(MAX_PICKLE_BYTES).toBeLessThan(SHARED_MEMORY_BYTES);
  });

  test('several gzip members are read whole, also when one ends exactly where a read does', () => {
    // A stored (level 0) member of exactly GZIP_READ_CHUNK bytes: its size is the data's plus a fixed overhead.
    let n = GZIP_READ_CHUNK;
    const stored = (len: number) => gzipSync(Buffer.alloc(len, 5), { level: 0 });
    for (let tries = 0; stored(n).length !== GZIP_READ_CHUNK; tries++) {
      expect(tries).toBeLessThan(5);
      n -= stored(n).length - GZIP_READ_CHUNK;
    }
    const first = stored(n);
    const second = Buffer.alloc(3000, 6);
    const both = Buffer.concat([Buffer.alloc(n, 5), second]);
    const read = (name: string, bytes: Uint8Array) => {
      const file = writeScratch(scratch, name, bytes);
      return { file, bytes: () => Buffer.from(readDataFile(file)) };
    };
    expect(read('members.gz', Buffer.concat([first, gzipSync(second)])).bytes().equals(both)).toBe(true);
    // gzip's rules after the last member: zero bytes are padding, anything else must be another member
    expect(read('padded.gz', Buffer.concat([first, Buffer.alloc(10)])).bytes().equals(Buffer.alloc(n, 5))).toBe(true);
    const garbage = read('garbage.gz', Buffer.concat([first, Buffer.from('not gzip')]));
    expect(dataError(garbage.bytes, garbage.file).message).toMatch(/corrupt or truncated gzip data/);
    const small = Buffer.concat([gzipSync(Buffer.from('abc')), gzipSync(Buffer.from('def')), Buffer.alloc(3)]);
    expect(read('small-members.gz', small).bytes().toString()).toBe('abcdef');
  });

  test('a gzip trailer that lies about the size misleads only the first buffer: inflate checks it', () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251));
    for (const isize of [1, 1000, data.length * 3]) {
      const gz = gzipSync(data);
      gz.writeUInt32LE(isize, gz.length - 4);
      const file = writeScratch(scratch, `lying-${isize}.gz`, gz);
      // the stream's own length check (inflate compares ISIZE) still catches the lie
      expect(dataError(() => readDataFile(file), file).message).toMatch(/corrupt or truncated gzip data \(incorrect length check\)/);
    }
  });

  test('a truncated stream is corrupt, not short data', () => {
    const gz = gzipSync(Buffer.alloc(200_000, 1));
    const file = writeScratch(scratch, 'cut.gz', gz.subarray(0, gz.length - 20));
    expect(dataError(() => readDataFile(file), file).message).toBe(`${file}: corrupt or truncated gzip data (the stream ends early)`);
  });

  test('a FIFO is refused without opening it, a missing file is named as before', () => {
    const fifo = mkfifo(join(scratch, 'unit.fifo'));
    expect(dataError(() => readDataFile(fifo), fifo).message).toBe(`${fifo}: is not a regular file (it is a FIFO)`);
    expect(dataError(() => loadDataset({ data: fifo }), fifo).message).toBe(`${fifo}: is not a regular file or folder (it is a FIFO)`);
    const missing = join(scratch, 'nope');
    expect(dataError(() => readDataFile(missing), missing).message).toBe(`${missing}: no such file`);
  });

  test('an allocation the memory cannot hold is a DataError naming the file', () => {
    const dir = idxFolder('alloc', {});
    const images = join(dir, 'train-images-idx3-ubyte');
    const full = {
      ...heapAllocator,
      f32: () => {
        throw new RangeError('shared memory would exceed 4 GiB (5.00 GiB asked)');
      },
    };
    expect(dataError(() => loadIdxSplit(images, join(dir, 'train-labels-idx1-ubyte'), full), images).message).toBe(
      `${images}: 125x28x28 pixels as float32 do not fit in memory (shared memory would exceed 4 GiB (5.00 GiB asked))`,
    );
  });

  test("a real arena that cannot grow: the data's loader names the file, the shared state the model and batch", () => {
    // a memory whose maximum is two 64 KiB pages: the arena's grow fails, as when the system refuses the memory
    const tiny = () => new Arena(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }));
    const dir = idxFolder('alloc-real', {});
    const images = join(dir, 'train-images-idx3-ubyte');
    expect(dataError(() => loadIdxSplit(images, join(dir, 'train-labels-idx1-ubyte'), arenaAllocator(tiny())), images).message).toMatch(
      /: 125x28x28 pixels as float32 do not fit in memory \(need 0\.\d\d GiB of shared memory, more than the system could provide\)$/,
    );
    const data = loadDataset({ data: dir });
    const lay = () => SharedState.create(tiny(), data, { sizes: [784, 50, 10], batchSize: 50, kernel: 'wasm', threads: 1 });
    expect(lay).toThrow(UserError);
    expect(lay).toThrow(/^the data, the model and its per-batch buffers need 0\.\d\d GiB of shared memory, more than the system could provide$/);
  });

  test('more rows than the engine can evaluate are refused at load', () => {
    const n = MAX_SPLIT_ROWS + 1;
    const dir = idxFolder('many-rows', {
      't10k-images-idx3-ubyte': idx([n, 1, 1], new Uint8Array(n)),
      't10k-labels-idx1-ubyte': idx([n], new Uint8Array(n)),
      'train-images-idx3-ubyte': idx([2, 1, 1], Uint8Array.of(0, 1)),
      'train-labels-idx1-ubyte': idx([2], Uint8Array.of(0, 1)),
    });
    const t10k = join(dir, 't10k-images-idx3-ubyte');
    expect(dataError(() => loadDataset({ data: dir, validSplit: 'test' }), t10k).message).toBe(
      `${t10k}: the valid split has ${n} rows, more than the ${MAX_SPLIT_ROWS} the trainer can evaluate`,
    );
  });
});

describe('pickles', () => {
  test('bytes() is empty bytes; bytes with arguments is not array data', () => {
    const file = writeScratch(scratch, 'empty-p2.pkl', protocol2Dataset(withEmptySplit(2)));
    const d = loadPklDataset(file);
    expect([d.train.n, d.valid.n]).toEqual([4, 3]);
    expect(dataError(() => loadPklDataset(file, { withTest: true }), file).message).toBe(`${file}: the test split has no rows`);
    const args = writeScratch(scratch, 'bytes-args.pkl', new PickleWriter().proto(2).global('__builtin__', 'bytes').int(5).tupleN(1).reduce().stop().finish());
    expect(dataError(() => loadPklDataset(args), args).message).toMatch(/malformed pickle: bytes called with arguments \(int 5\), expected bytes\(\)/);
  });

  test('a pickle prefix is read as far as it goes: truncation is no error, a bad opcode or global is', () => {
    const good = new PickleWriter().dataset(smallDataset()).finish();
    for (let n = 0; n < good.length; n++) expect(() => checkPicklePrefix(good.subarray(0, n), 'p')).not.toThrow();
    expect(() => checkPicklePrefix(Uint8Array.of(0x80, 2, 0, 0), 'p')).toThrow(/unknown or unsupported pickle opcode 0x00 at byte 2/);
    expect(() => checkPicklePrefix(new PickleWriter().proto(2).global('os', 'system').finish(), 'p')).toThrow(/refused pickle global 'os system'/);
    expect(() => checkPicklePrefix(Uint8Array.of(0x80, 9), 'p')).toThrow(/pickle protocol 9 is newer than 5/);
  });
});
