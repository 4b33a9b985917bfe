/**
 * An error the user can fix (a bad flag, a missing or malformed file). The CLI prints its message as
 * one line on stderr, without a stack trace, and exits non-zero. Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A data file that cannot be read: the message names the file. */
export class DataError extends UserError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DataError';
  }
}

/**
 * A run that had to stop for a reason the user should read in one line: a worker failed, or the
 * training diverged. Not a bug in this program, so no stack trace.
 */
export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}
