import { createInterface, type Key } from 'node:readline';
import { read } from 'read';
import { UsageError } from './command-errors.js';

/**
 * The password of `user add` / `user passwd` when --password is not given: typed twice on a
 * terminal without echo (npm's `read` prompt), else the first line of stdin, so scripts can pipe it
 * in without it showing in `ps`.
 */
export async function obtainPassword(
  given: string | undefined,
  check: (password: string) => readonly string[],
): Promise<string> {
  if (given !== undefined) {
    return given;
  }
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password:');
    const problems = check(first);
    if (problems.length > 0) {
      throw new UsageError([...problems]);
    }
    const second = await promptHidden('Repeat password:');
    if (first !== second) {
      throw new UsageError(['the two passwords differ']);
    }
    return first;
  }
  // Not `read`: it would print a prompt into a script's output, and never settle on an empty stdin.
  const line = await readFirstLine();
  if (line === undefined) {
    throw new UsageError(['no password: give --password, or one line on stdin']);
  }
  return line;
}

async function readFirstLine(): Promise<string | undefined> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) {
      return line;
    }
    return undefined;
  } finally {
    lines.close();
    process.stdin.destroy();
  }
}

type Keypress = readonly [sequence: string | undefined, key: Key | undefined];

/**
 * Keys that came after the Enter ending the previous answer. `read` closes its readline interface
 * at the end of the line, and the rest of that chunk of terminal input is then dropped: text typed
 * ahead before the prompt showed, or sent by `expect`, carries both answers in one chunk, and the
 * second prompt would wait forever. This thin adapter keeps those keys and replays them into the
 * next prompt. It also turns Ctrl-D on an empty line, on which `read` never settles, into a cancel.
 */
let typedAhead: readonly Keypress[] = [];

async function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  const leftover: Keypress[] = [];
  let endedBy: string | undefined;
  let typed = '';
  let cancel = (): void => undefined;
  const cancelled = new Promise<never>((_resolve, reject) => {
    cancel = () => reject(new UsageError(['password entry cancelled']));
  });
  const onKeypress = (sequence: string | undefined, key: Key | undefined): void => {
    if (endedBy !== undefined) {
      // A CR LF pair ends one line, not two.
      if (!(endedBy === 'return' && key?.name === 'enter' && leftover.length === 0)) {
        leftover.push([sequence, key]);
      }
    } else if (key?.name === 'return' || key?.name === 'enter') {
      endedBy = key.name;
    } else if (key?.ctrl === true && key.name === 'd' && typed === '') {
      cancel();
    } else if (key?.name === 'backspace') {
      typed = Array.from(typed).slice(0, -1).join('');
    } else if (sequence !== undefined && sequence >= ' ' && key?.ctrl !== true && key?.meta !== true) {
      typed += sequence;
    }
  };
  input.on('keypress', onKeypress);
  try {
    // A terminal on stdin is what matters: with stderr redirected, read would otherwise leave the
    // terminal in cooked mode, and the terminal itself would echo the password.
    const answer = read({ prompt, silent: true, replace: '', input, output: process.stderr, terminal: true });
    const pending = typedAhead;
    typedAhead = [];
    for (const [sequence, key] of pending) {
      input.emit('keypress', sequence, key);
    }
    return await Promise.race([answer, cancelled]);
  } catch (error) {
    // read rejects on Ctrl-C ("canceled").
    throw error instanceof UsageError ? error : new UsageError(['password entry cancelled']);
  } finally {
    input.off('keypress', onKeypress);
    typedAhead = leftover;
    // The Enter was not echoed either.
    process.stderr.write('\n');
  }
}
