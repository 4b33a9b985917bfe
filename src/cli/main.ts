import { RunError, UserError } from '../errors.js';
import { watchStdout } from './stdout.js';

/**
 * Runs a command's main function: a UserError (bad flag, bad file) becomes one line on stderr and
 * exit code 2 for usage, 1 for data; a RunError (a worker failed, training diverged) one line and
 * exit code 1; anything else is a bug and keeps its stack trace.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  // A reader that stops early (`| head`) closes the pipe: see stdout.ts.
  watchStdout();
  main().then(
    () => {
      process.exitCode ??= 0;
    },
    (e: unknown) => {
      if (e instanceof UserError) {
        process.stderr.write(`${name}: error: ${e.message}\n`);
        process.exitCode = e.name === 'DataError' ? 1 : 2;
      } else if (e instanceof RunError) {
        process.stderr.write(`${name}: error: ${e.message}\n`);
        process.exitCode = 1;
      } else {
        process.stderr.write(`${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 70;
      }
    },
  );
}
