import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { ZStream, Z_BUF_ERROR, Z_NO_FLUSH, Z_OK, Z_STREAM_END, zlibInflate, zlibInflateEnd, zlibInflateInit2, zlibInflateReset } from 'pako';
import { DataError } from '../errors.js';
import { SHARED_MEMORY_BYTES } from './limits.js';

const GZIP_MAGIC = [0x1f, 0x8b];

/** Whether a file's bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** The size a file's own first bytes declare for it (an IDX header does; a pickle does not). */
export interface DeclaredSize {
  /** the whole file's bytes, once gunzipped, header included */
  bytes: number;
  /** the declaration in words, for messages: "the 47040016 bytes its IDX header declares (60000x28x28 values)" */
  what: string;
}

/** How much of a file a loader will take, settled before the file is read. */
export interface ReadLimits {
  /** The most bytes the file may hold, once gunzipped: past them it is refused, as soon as that shows. */
  maxBytes: number;
  /** maxBytes in words, for messages: "4 GiB, the most a pickle may hold (...)" */
  maxWhat: string;
  /** How many first bytes `declared` is given (fewer only when the file holds fewer). */
  headBytes?: number;
  /**
   * The size the file's first bytes declare, or undefined when they declare none. It may throw a
   * DataError when the first bytes already show that the file is wrong, so that nothing more is read
   * or inflated.
   */
  declared?: (head: Uint8Array) => DeclaredSize | undefined;
}

/** Nothing this trainer reads can use more than its shared memory, whatever the file. */
export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxBytes: SHARED_MEMORY_BYTES,
  maxWhat: `${gib(SHARED_MEMORY_BYTES)}, the size of the trainer's shared memory`,
};

/** A byte count for messages, in GiB. */
export function gib(bytes: number): string {
  const g = bytes / 2 ** 30;
  return `${Number.isInteger(g) ? g : g.toFixed(2)} GiB`;
}

/**
 * A data file's bytes, gunzipped when the file is gzip, and never more than `limits` allow: a raw
 * file larger than its header declares is refused unread, and a gzip stream stops inflating at the
 * first byte past that size (or past limits.maxBytes), so a small .gz that would inflate to gigabytes
 * costs no more than what was declared. Only a regular file is opened: a device or a FIFO is refused
 * before open, which could block or read forever. Every problem is a DataError naming the file.
 */
export function readDataFile(file: string, limits: ReadLimits = DEFAULT_READ_LIMITS): Uint8Array {
  const { fd, size } = openRegularFile(file);
  try {
    const head = readAt(fd, file, 0, Math.min(size, Math.max(GZIP_MAGIC.length, limits.headBytes ?? 0)));
    if (isGzip(head)) return gunzipFile(fd, size, file, limits);
    if (file.endsWith('.gz')) throw new DataError(file, 'named .gz but is not gzip data');
    const declared = limits.declared?.(head.subarray(0, limits.headBytes));
    // The parsers refuse bytes past the declared values; refusing them here spares reading them.
    if (declared !== undefined && size > declared.bytes) {
      throw new DataError(file, `${size - declared.bytes} unexpected bytes after ${declared.what}`);
    }
    if (size > limits.maxBytes) throw new DataError(file, `is ${size} bytes, more than ${limits.maxWhat}`);
    return readAt(fd, file, 0, size);
  } finally {
    closeSync(fd);
  }
}

/** Whether a path is a folder; a missing or unreadable path is a DataError (`missing` says what was expected). */
export function isFolder(path: string, missing: string): boolean {
  return statPath(path, missing).isDirectory();
}

/**
 * What `path` is, after links: a folder or a regular file. Anything else (a device such as /dev/zero,
 * a FIFO, a socket) is a DataError, found without opening it.
 */
export function fileOrFolder(path: string, missing: string): 'file' | 'folder' {
  const st = statPath(path, missing);
  if (st.isDirectory()) return 'folder';
  if (!st.isFile()) throw new DataError(path, `is not a regular file or folder (it is ${kindOf(st)})`);
  return 'file';
}

function statPath(path: string, missing: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw cannotRead(path, e, missing);
  }
}

/** An open descriptor on a regular file, and the size of what it opened; see readDataFile. */
function openRegularFile(file: string): { fd: number; size: number } {
  const st = statPath(file, 'no such file');
  if (st.isDirectory()) throw new DataError(file, 'is a folder, expected a file');
  if (!st.isFile()) throw notRegularFile(file, st);
  let fd: number;
  try {
    // Non-blocking, so that a path swapped for a FIFO since the stat cannot make open wait for a writer.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw cannotRead(file, e, 'no such file');
  }
  const opened = fstatSync(fd);
  if (!opened.isFile()) {
    closeSync(fd);
    throw notRegularFile(file, opened);
  }
  return { fd, size: opened.size };
}

function notRegularFile(file: string, st: Stats): DataError {
  return new DataError(file, `is not a regular file (it is ${kindOf(st)})`);
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'neither';
}

function cannotRead(path: string, e: unknown, missing: string): DataError {
  const code = (e as NodeJS.ErrnoException).code;
  return new DataError(path, code === 'ENOENT' ? missing : `cannot read (${code ?? String(e)})`);
}

/** The most one readSync is asked for: it reads less than 2 GiB a call. */
const MAX_READ = 2 ** 30;

/** `length` bytes from `position` on; fewer if the file has shrunk since its size was taken. */
function readAt(fd: number, file: string, position: number, length: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(length);
  const got = readInto(fd, file, out, position);
  return got === length ? out : out.subarray(0, got);
}

function readInto(fd: number, file: string, out: Uint8Array, position: number): number {
  let got = 0;
  while (got < out.length) {
    let n: number;
    try {
      n = readSync(fd, out, got, Math.min(out.length - got, MAX_READ), position + got);
    } catch (e) {
      throw cannotRead(file, e, 'no such file');
    }
    if (n === 0) break;
    got += n;
  }
  return got;
}

// --- gunzip, bounded

/** Compressed bytes read per step: the .gz is streamed, never held whole. */
export const GZIP_READ_CHUNK = 1 << 20;

/** deflate never expands more than about 1032:1, so a larger size in the gzip trailer is a lie. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Gunzips the open file, reading it a chunk at a time, into one buffer: with a declared size, first
 * the header, then exactly the declared size; without, the size the gzip trailer states (ISIZE, the
 * size mod 2^32) when that is believable. When that size is right (an honest single-member file), the
 * peak is the result itself, not the result twice over.
 */
function gunzipFile(fd: number, size: number, file: string, limits: ReadLimits): Uint8Array {
  const out = new BoundedOutput(file, limits, trailerSize(fd, file, size));
  const strm = new ZStream();
  zlibInflateInit2(strm, 15 + 16); // a 32 KiB window, gzip wrapper
  const input = Buffer.allocUnsafeSlow(Math.min(size, GZIP_READ_CHUNK));
  let state: InflateState = 'more';
  try {
    for (let at = 0; at < size && state !== 'done'; ) {
      const n = readInto(fd, file, input.subarray(0, Math.min(input.length, size - at)), at);
      if (n === 0) break; // the file has shrunk since its size was taken
      at += n;
      if (state === 'member-end') {
        // As where a member ends inside the input: more follows only if the next byte is not zero.
        if (input[0] === 0) break;
        zlibInflateReset(strm);
      }
      strm.input = input.subarray(0, n);
      strm.next_in = 0;
      strm.avail_in = n;
      state = inflateInput(strm, out, file);
    }
  } finally {
    zlibInflateEnd(strm);
  }
  if (state === 'more') throw corruptGzip(file, 'the stream ends early');
  return out.result();
}

/**
 * After the input given: 'more', the stream goes on; 'member-end', a gzip member ended exactly at the
 * end of the input, and another may follow; 'done', the stream ended and the zero bytes after it are
 * padding, which gzip ignores.
 */
type InflateState = 'more' | 'member-end' | 'done';

function inflateInput(strm: ZStream, out: BoundedOutput, file: string): InflateState {
  for (;;) {
    if (strm.avail_out === 0) out.makeRoom(strm);
    const inBefore = strm.avail_in;
    const outBefore = strm.avail_out;
    const status = zlibInflate(strm, Z_NO_FLUSH);
    out.took(strm);
    if (status === Z_STREAM_END) {
      if (strm.avail_in === 0) return 'member-end';
      // gzip allows several members one after another (`cat a.gz b.gz`), as gunzip reads them
      if (strm.input[strm.next_in] === 0) return 'done';
      zlibInflateReset(strm);
      continue;
    }
    if (status !== Z_OK && status !== Z_BUF_ERROR) throw corruptGzip(file, strm.msg || `zlib status ${status}`);
    if (strm.avail_in === 0 && strm.avail_out !== 0) return 'more';
    if (strm.avail_in === inBefore && strm.avail_out === outBefore && strm.avail_out !== 0) {
      throw corruptGzip(file, 'the stream makes no progress');
    }
  }
}

function corruptGzip(file: string, why: string): DataError {
  return new DataError(file, `corrupt or truncated gzip data (${why})`);
}

/** The size the gzip trailer states, when it is believable. */
function trailerSize(fd: number, file: string, size: number): number | undefined {
  if (size < 18) return undefined;
  const t = readAt(fd, file, size - 4, 4);
  if (t.length < 4) return undefined;
  const isize = new DataView(t.buffer, t.byteOffset, 4).getUint32(0, true);
  return isize > 0 && isize <= size * MAX_DEFLATE_RATIO ? isize : undefined;
}

/** The first output buffer when nothing says how large the result will be. */
const FIRST_GUESS = 1 << 16;

/**
 * Where inflate writes, never past the bound: the size the head declares, once it has declared one,
 * else limits.maxBytes. The output goes into one buffer of the expected size (declared, or the gzip
 * trailer's); past that, into more buffers, each as large as all before it, which are joined at the
 * end, so that reaching the bound never holds more than the bound. When the output has reached the
 * bound, inflate gets a one-byte probe: a byte written there is a byte too many.
 */
class BoundedOutput {
  /** full buffers, in order, before `buf` */
  private filled: Uint8Array[] = [];
  private filledBytes = 0;
  /** the buffer being written: its first `length` bytes follow `filled` */
  private buf: Uint8Array<ArrayBuffer>;
  private length = 0;
  private bound: number;
  private boundWhat: string;
  /** whether the head has been given to limits.declared (or there is nothing to give it to) */
  private headChecked: boolean;
  /** whether the bound is the size the head declared, the size the result must have */
  private exact = false;
  private readonly probe = new Uint8Array(1);
  private probing = false;

  constructor(
    private readonly file: string,
    private readonly limits: ReadLimits,
    /** the size the gzip trailer states, when believable */
    private readonly trailer: number | undefined,
  ) {
    this.bound = limits.maxBytes;
    this.boundWhat = limits.maxWhat;
    this.headChecked = limits.declared === undefined;
    const first = this.headChecked ? (trailer ?? FIRST_GUESS) : Math.max(1, limits.headBytes ?? 0);
    this.buf = new Uint8Array(Math.min(first, this.bound));
  }

  /** Gives inflate somewhere to write (strm.avail_out is 0). */
  makeRoom(strm: ZStream): void {
    if (!this.probing && this.length === this.buf.length) this.grow();
    strm.output = this.probing ? this.probe : this.buf;
    strm.next_out = this.probing ? 0 : this.length;
    strm.avail_out = strm.output.length - strm.next_out;
  }

  /** Counts what inflate wrote. */
  took(strm: ZStream): void {
    if (!this.probing) this.length = strm.next_out;
    else if (strm.next_out > 0) this.exceeded();
  }

  /** The output, checked against what its head declares when the output was too short to check sooner. */
  result(): Uint8Array {
    if (!this.headChecked) this.checkHead();
    if (this.filled.length > 0) return this.joined(this.total());
    return this.length === this.buf.length ? this.buf : this.buf.subarray(0, this.length);
  }

  private total(): number {
    return this.filledBytes + this.length;
  }

  /** More room once `buf` is full: see the class comment. */
  private grow(): void {
    if (!this.headChecked) this.checkHead();
    const total = this.total();
    const room = this.bound - total;
    if (room <= 0) {
      this.probing = true;
    } else if (this.exact || (this.trailer !== undefined && this.trailer > total)) {
      // the size to expect is known now, after a head of a few bytes: one buffer of it
      this.buf = this.joined(Math.min(this.bound, this.exact ? this.bound : (this.trailer as number)));
      this.length = total;
      this.filled = [];
      this.filledBytes = 0;
    } else {
      this.filled.push(this.buf.subarray(0, this.length));
      this.filledBytes = total;
      this.buf = new Uint8Array(Math.min(room, Math.max(FIRST_GUESS, total)));
      this.length = 0;
    }
  }

  /** The output so far, in a new buffer of `size` bytes. */
  private joined(size: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(size);
    let at = 0;
    for (const b of this.filled) {
      out.set(b, at);
      at += b.length;
    }
    out.set(this.buf.subarray(0, this.length), at);
    return out;
  }

  private checkHead(): void {
    this.headChecked = true;
    const declared = this.limits.declared?.(this.buf.subarray(0, this.length));
    if (declared === undefined) return;
    this.exact = true;
    this.bound = Math.min(this.bound, declared.bytes);
    this.boundWhat = declared.what;
    if (this.total() > this.bound) this.exceeded();
  }

  private exceeded(): never {
    throw new DataError(this.file, `inflates past ${this.boundWhat}`);
  }
}
