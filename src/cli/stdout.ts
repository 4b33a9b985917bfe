/**
 * What happens when the reader of stdout goes away (`train.js | head -n 3` closes the pipe). A Unix
 * filter dies of SIGPIPE then; Node ignores that signal, so a write fails with EPIPE instead. By
 * default a command then exits as a filter would (128 + SIGPIPE's 13). A command with work to save
 * (train with --save) keeps going quietly instead, and its exit code is that of the run.
 */
export const EXIT_STDOUT_CLOSED = 141;

let closed = false;
let keepGoing = false;

/** The run goes on when stdout closes: what it would print goes nowhere, what it saves is saved. */
export function keepGoingWhenStdoutCloses(): void {
  keepGoing = true;
}

/** Installs the policy (once, before anything is printed). */
export function watchStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    // after the first EPIPE, later writes fail as writes to a closed stream: the same event
    if (e.code !== 'EPIPE' && !closed) throw e;
    closed = true;
    if (!keepGoing) process.exit(EXIT_STDOUT_CLOSED);
  });
}
