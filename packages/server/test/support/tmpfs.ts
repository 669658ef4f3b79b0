import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A small tmpfs made for a test, mounted on `dir` (the storage tests mount one as a node's media
 * directory so that they fill a partition for real). Mounting needs root, which the test scripts
 * have; elsewhere `mountTmpfs` answers why not, and the test skips with that message.
 */
export interface Tmpfs {
  readonly dir: string;
  readonly sizeBytes: number;
  unmount(): Promise<void>;
}

export async function mountTmpfs(dir: string, sizeBytes: number): Promise<Tmpfs | string> {
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    return `cannot mount a tmpfs on ${dir} (needs root): ${stderr.trim()}`;
  }
  let mounted = true;
  return {
    dir,
    sizeBytes,
    async unmount() {
      if (!mounted) {
        return;
      }
      mounted = false;
      // Lazy: a process that still holds a file there must not keep the test from finishing.
      await run('umount', ['-l', dir]);
    },
  };
}
