import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Strict parsers for flag values. yargs hands every value over as a string; each parser accepts
 * exactly the values the flag means and otherwise throws a UserError naming the flag.
 */

function one(flag: string, v: unknown): string {
  if (Array.isArray(v)) throw new UserError(`--${flag} is given more than once`);
  return String(v);
}

/** The longest file name most file systems take (ext4, xfs, btrfs, APFS, NTFS in UTF-16 units). */
const MAX_NAME_BYTES = 255;

/** A decimal number as people write one: 0.2, 5e-4, -1, .5; not hex (0x10), Infinity or an empty string. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const decimal = (s: string): number => (DECIMAL.test(s) ? Number(s) : NaN);

export function intFlag(flag: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const s = one(flag, v).trim();
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new UserError(`--${flag} must be ${range}, got '${s}'`);
  }
  return n;
}

export function positiveNumberFlag(flag: string, v: unknown): number {
  const s = one(flag, v).trim();
  const n = decimal(s);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`--${flag} must be a positive number, got '${s}'`);
  return n;
}

export function nonNegativeNumberFlag(flag: string, v: unknown, max = Infinity): number {
  const s = one(flag, v).trim();
  const n = decimal(s);
  if (!Number.isFinite(n) || n < 0 || n > max) {
    throw new UserError(`--${flag} must be a number ${max === Infinity ? '>= 0' : `from 0 to ${max}`}, got '${s}'`);
  }
  return n;
}

/** A comma list of positive integers: '50' or '128,64'. */
export function intListFlag(flag: string, v: unknown, min: number, max: number): number[] {
  const s = one(flag, v).trim();
  const parts = s.split(',');
  if (s === '' || parts.some((p) => !/^\s*\d+\s*$/.test(p))) {
    throw new UserError(`--${flag} must be a comma-separated list of integers such as 50 or 128,64, got '${s}'`);
  }
  const values = parts.map(Number);
  const bad = values.find((n) => n < min || n > max);
  if (bad !== undefined) throw new UserError(`--${flag} values must be from ${min} to ${max}, got ${bad}`);
  return values;
}

export function choiceFlag<T extends string>(flag: string, v: unknown, choices: readonly T[]): T {
  const s = one(flag, v);
  if (!(choices as readonly string[]).includes(s)) throw new UserError(`--${flag} must be one of ${choices.join(', ')}, got '${s}'`);
  return s as T;
}

/**
 * A file to write: its folder must exist, and the path must be a regular file or nothing yet (a
 * write replaces the file whole, which would turn a device or a FIFO into a file). Returns the
 * absolute path.
 */
export function outputFileFlag(flag: string, v: unknown): string {
  const s = one(flag, v);
  if (s.trim() === '') throw new UserError(`--${flag} needs a file path`);
  const path = resolve(s);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`--${flag} ${s}: the folder ${dir} does not exist`);
  // checked now rather than when the file is written, at the end of the run
  if (Buffer.byteLength(basename(path)) > MAX_NAME_BYTES) throw new UserError(`--${flag}: the file name is longer than the ${MAX_NAME_BYTES} bytes a file system allows`);
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) throw new UserError(`--${flag} ${s}: is a folder, expected a file path`);
    if (!st.isFile()) throw new UserError(`--${flag} ${s}: is not a regular file (a device, a FIFO or a socket); give a file path`);
  }
  return path;
}

/** A file or folder path to read (whether it exists is the loader's to say, naming it). */
export function pathFlag(flag: string, v: unknown): string {
  const s = one(flag, v);
  if (s.trim() === '') throw new UserError(`--${flag} needs a file or folder path`);
  return s;
}
