import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A small ext4 file system in an image file, loop-mounted on `dir` with `errors=remount-ro`: the
 * tests of I/O errors make it fail for real. `failToReadOnly` raises an ext4 error through sysfs
 * (`trigger_fs_error`), and the kernel remounts it read-only at once, as it does after a disk
 * error: every later write, on files already open too, fails with EROFS. (`mount -o remount,ro`
 * cannot do this: Linux refuses it, EBUSY, while a process holds a file open for writing.) It stays
 * read-only until unmounted. Mounting needs root and loop devices; elsewhere `mountExt4Image`
 * answers why not, and the test skips with that message.
 */
export interface Ext4Image {
  readonly dir: string;
  failToReadOnly(): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountExt4Image(
  dir: string,
  image: string,
  sizeBytes: number,
): Promise<Ext4Image | string> {
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(image, '');
    await run('truncate', ['-s', String(sizeBytes), image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  } catch (error) {
    await rm(image, { force: true });
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    return `cannot loop-mount an ext4 image on ${dir} (needs root and loop devices): ${stderr.trim()}`;
  }
  let mounted = true;
  const device = basename((await run('findmnt', ['-n', '-o', 'SOURCE', dir])).stdout.trim());
  return {
    dir,
    async failToReadOnly() {
      await writeFile(join('/sys/fs/ext4', device, 'trigger_fs_error'), 'verbatim test\n');
    },
    async unmount() {
      if (!mounted) {
        return;
      }
      mounted = false;
      // Lazy: the loop device is released when the last file there is closed.
      await run('umount', ['-l', dir]);
      await rm(image, { force: true });
    },
  };
}
