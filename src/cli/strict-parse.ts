import type { Argv } from 'yargs';
import { UserError } from '../errors.js';

/**
 * Finishes a command's yargs set-up the same way for every command: unknown flags and stray
 * arguments are refused, --help prints the flags, and any problem is one UserError line.
 */
export function strictParse<T>(y: Argv<T>): ReturnType<Argv<T>['parseSync']> {
  const raw = y
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      throw new UserError(msg ?? err?.message ?? 'bad arguments');
    })
    .parseSync();
  if (raw._.length > 0) throw new UserError(`unexpected argument '${raw._[0]}'`);
  return raw;
}
