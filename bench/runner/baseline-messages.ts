/**
 * Messages between the runner and bench/baseline-receiver.ts, a bare Node UDP receiver forked as a
 * process of its own so that its CPU time can be read from /proc like the recorder's.
 */

export type BaselineCommand =
  /** Open `sockets` UDP sockets on ephemeral ports of `host`. */
  | { readonly type: 'open'; readonly host: string; readonly sockets: number }
  /** Report the packets counted so far. */
  | { readonly type: 'count' }
  | { readonly type: 'exit' };

export type BaselineReport =
  | { readonly type: 'ready' }
  | { readonly type: 'opened'; readonly ports: readonly number[] }
  | { readonly type: 'counted'; readonly packets: number; readonly bytes: number }
  | { readonly type: 'error'; readonly message: string };
