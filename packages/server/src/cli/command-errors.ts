/**
 * How every command ends (DESIGN.md §1.1). Exit codes: 0 done, 1 failed while running (port in
 * use, database unreachable), 2 bad usage or configuration, printed one problem a line and never
 * as a stack trace.
 */

import { isVerbatimError, VerbatimError } from '../model/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A problem with what the user asked for: printed, then exit 2. */
export class UsageError extends VerbatimError<'VERBATIM_ERR_CLI_USAGE'> {
  constructor(readonly problems: readonly string[]) {
    super('VERBATIM_ERR_CLI_USAGE', problems.join('\n'));
  }
}

/** A failure while doing what was asked: printed as one line, then exit 1. */
export class CommandFailure extends VerbatimError<'VERBATIM_ERR_CLI_FAILED'> {
  constructor(message: string, options?: { cause: unknown }) {
    super('VERBATIM_ERR_CLI_FAILED', message, options);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs one command's action: its exit code, or the code of its error after printing it. */
export async function exitCodeOf(action: () => Promise<number>): Promise<number> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof UsageError) {
      for (const problem of error.problems) {
        process.stderr.write(`error: ${problem}\n`);
      }
      return EXIT_USAGE;
    }
    if (isVerbatimError(error, 'VERBATIM_ERR_CLI_FAILED')) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    // Unexpected, yet still one line: a stack trace is no help to an operator.
    process.stderr.write(`error: ${messageOf(error).split('\n')[0] ?? ''}\n`);
    return EXIT_FAILURE;
  }
}

/** What a command's registration gets to run its action (main.ts keeps the exit code). */
export type RunAction = (action: () => Promise<number>) => Promise<void>;
