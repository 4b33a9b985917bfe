import { UserError } from '../errors.js';

/** The hidden widths of a weights file, which --hidden (when given) must agree with. */
export function hiddenOf(sizes: number[], asked: number[] | null, file: string): number[] {
  const hidden = sizes.slice(1, -1);
  if (asked && asked.join() !== hidden.join()) throw new UserError(`--init-from ${file}: its hidden layers are ${hidden.join(',')}, --hidden asks for ${asked.join(',')}`);
  return hidden;
}
