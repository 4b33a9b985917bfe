import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** A path a command was given, by the flag that gave it. */
export interface NamedPath {
  flag: string;
  path: string | undefined;
}

/**
 * Output paths must differ from each other and from every input, compared after resolving links:
 * `--log ck.st --resume ck.st` would overwrite the checkpoint with JSON lines, `--save
 * data.pkl.gz --data data.pkl.gz` the dataset. An input folder (an IDX folder) clashes with an
 * output that would be one of its files. `allowed` lists [output, input] pairs that may name the same
 * file: train's --save over its own --resume continues the run in place, as asked.
 */
export function checkOutputPaths(outputs: readonly NamedPath[], inputs: readonly NamedPath[], allowed: readonly [string, string][] = []): void {
  const outs = outputs.filter((o): o is { flag: string; path: string } => o.path !== undefined).map((o) => ({ ...o, real: realTarget(o.path) }));
  for (let i = 0; i < outs.length; i++) {
    for (let j = 0; j < i; j++) {
      if (outs[i].real === outs[j].real) throw new UserError(`--${outs[j].flag} and --${outs[i].flag} name the same file (${outs[i].path}): one would overwrite the other`);
    }
  }
  for (const input of inputs) {
    if (input.path === undefined || !existsSync(input.path)) continue;
    const real = realpathSync(input.path);
    const folder = statSync(real).isDirectory();
    for (const o of outs) {
      if (allowed.some(([out, inp]) => out === o.flag && inp === input.flag)) continue;
      const clash = folder ? o.real === real || (dirname(o.real) === real && readdirSync(real).includes(basename(o.real))) : o.real === real;
      if (clash) throw new UserError(`--${o.flag} ${o.path} would overwrite --${input.flag} ${input.path}: write it elsewhere`);
    }
  }
}

/** Where a write to `path` lands: the file a link points to, or the path under its folder's real path. */
function realTarget(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  return join(realpathSync(dirname(abs)), basename(abs));
}
