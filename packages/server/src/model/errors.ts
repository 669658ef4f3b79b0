/**
 * The one error family of the server. Every error Verbatim throws extends `VerbatimError` and
 * carries a stable `code` (`VERBATIM_ERR_<AREA>_<WHAT>`, listed in docs/errors.md), so callers
 * branch on `error.code`, never on the class or the message text. Parsers of wire input do not
 * throw at all: they return a `Result` whose `ParseError` carries a code of the same registry
 * (protocol/result.ts).
 */
export class VerbatimError<Code extends string = string> extends Error {
  readonly code: Code;
  /**
   * The HTTP status an API route answers with when this error reaches it, where one applies
   * (a malformed request body is 400); undefined for errors that never reach HTTP as such.
   */
  readonly httpStatus: number | undefined;

  constructor(
    code: Code,
    message: string,
    options?: { readonly cause?: unknown; readonly httpStatus?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    // The subclass's own name in stack traces and logs (MediaError, DbError…), without each
    // subclass repeating the assignment.
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = options?.httpStatus;
  }
}

/** True when `error` is one of Verbatim's errors, with the given code when one is named. */
export function isVerbatimError(error: unknown, code?: string): error is VerbatimError {
  return error instanceof VerbatimError && (code === undefined || error.code === code);
}
