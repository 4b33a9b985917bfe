import type { Argv } from 'yargs';
import { UserError } from '../errors.js';

/**
 * Finishes a command's yargs set-up the same way for every command: unknown flags and stray
 * arguments are refused, --help prints the flags, and any problem is one UserError line. `argv` is
 * what the parser was given: its switches are checked first, since yargs reads `--json=maybe` as
 * false and a repeated switch as one.
 */
export function strictParse<T>(y: Argv<T>, argv: readonly string[]): ReturnType<Argv<T>['parseSync']> {
  // getOptions is yargs's own (its typings leave it out): the switches declared so far
  checkSwitches(argv, (y as unknown as { getOptions(): { boolean: string[] } }).getOptions().boolean);
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

/** A switch (a boolean flag) is given at most once, as --name or --no-name, or with =true or =false. */
function checkSwitches(argv: readonly string[], names: readonly string[]): void {
  for (const name of names) {
    if (name === 'help' || name === 'version') continue;
    const uses = argv.filter((a) => a === `--${name}` || a === `--no-${name}` || a.startsWith(`--${name}=`) || a.startsWith(`--no-${name}=`));
    if (uses.length > 1) throw new UserError(`--${name} is given more than once`);
    const value = uses[0]?.includes('=') ? uses[0].slice(uses[0].indexOf('=') + 1) : undefined;
    if (value !== undefined && value !== 'true' && value !== 'false') throw new UserError(`--${name} is a switch: give --${name} or --no-${name}, not '${uses[0]}'`);
  }
}
