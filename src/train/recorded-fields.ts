import { shownValue } from '../io/safetensors.js';

/**
 * Reads the fields of a JSON object a file recorded (a checkpoint's settings or progress), each by
 * type and range. A field that is missing, of another type or out of range is one problem, in
 * words such as "bs must be an integer >= 1, got 0", which `fail` turns into the caller's error.
 */
export class RecordedFields {
  private readonly record: Record<string, unknown>;

  /**
   * The record a JSON text holds. `notJson` is the problem when the text does not parse, in the
   * caller's words ("they are not JSON"). Fields outside `known` are refused: one this version does
   * not know could change what the run computes.
   */
  static parse(text: string, fail: (problem: string) => Error, notJson: string, known: readonly string[]): RecordedFields {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw fail(notJson);
    }
    return new RecordedFields(json, fail, known);
  }

  private constructor(
    value: unknown,
    private readonly fail: (problem: string) => Error,
    known: readonly string[],
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${shownValue(value)} is not a JSON object`);
    this.record = value as Record<string, unknown>;
    const unknown = Object.keys(this.record).find((k) => !known.includes(k));
    if (unknown !== undefined) throw fail(`${shownValue(unknown)} is not a field this trainer knows`);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.record, key);
  }

  /** A field read by `read`, or `fallback` when absent. */
  orElse<T, F>(key: string, read: (key: string) => T, fallback: F): T | F {
    return this.has(key) ? read(key) : fallback;
  }

  int(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value(key);
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      throw this.bad(key, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, v);
    }
    return v as number;
  }

  /**
   * A finite number in a range: `min` and `max` inclusive, `above` and `below` exclusive. `words`
   * says the range as the message gives it.
   */
  number(key: string, words: string, range: { min?: number; max?: number; above?: number; below?: number }): number {
    const v = this.value(key);
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (range.min === undefined || v >= range.min) &&
      (range.max === undefined || v <= range.max) &&
      (range.above === undefined || v > range.above) &&
      (range.below === undefined || v < range.below);
    if (!ok) throw this.bad(key, words, v);
    return v;
  }

  choice<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.value(key);
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw this.bad(key, `one of ${choices.join(', ')}`, v);
    return v as T;
  }

  bool(key: string): boolean {
    const v = this.value(key);
    if (typeof v !== 'boolean') throw this.bad(key, 'true or false', v);
    return v;
  }

  /** A string that is not empty. */
  text(key: string, words: string): string {
    const v = this.value(key);
    if (typeof v !== 'string' || v === '') throw this.bad(key, words, v);
    return v;
  }

  /** A list of integers from `min` to `max`, at least `minLength` of them. */
  intList(key: string, minLength: number, min: number, max = Number.MAX_SAFE_INTEGER): number[] {
    const v = this.value(key);
    const ok = Array.isArray(v) && v.length >= minLength && v.every((n) => Number.isSafeInteger(n) && n >= min && n <= max);
    if (!ok) throw this.bad(key, `a list of ${minLength === 1 ? 'one or more ' : ''}integers ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}`, v);
    return v as number[];
  }

  /** The raw value of a field, which must be there. */
  value(key: string): unknown {
    if (!this.has(key)) throw this.fail(`${key} is missing`);
    return this.record[key];
  }

  /** A problem in the caller's words, as the caller's error. */
  error(problem: string): Error {
    return this.fail(problem);
  }

  /** A problem with a field's value, in the words of the others. */
  bad(key: string, expected: string, got: unknown): Error {
    return this.fail(`${key} must be ${expected}, got ${shownValue(got)}`);
  }
}
