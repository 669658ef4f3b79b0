import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

/** A port free for both UDP and TCP on 127.0.0.1 right now (SIP listens on both). */
export async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        const { port: p } = socket.address();
        socket.close(() => resolve(p));
      });
    });
    if (await tcpPortFree(port)) {
      return port;
    }
  }
  throw new Error('no free UDP+TCP port found');
}

export async function freeTcpPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port for sipp's `-mp`: sipp binds base..base+3 (audio RTP/RTCP, video RTP/RTCP). The block
 * is taken from 10000-19999, below the Verbatim RTP ranges the tests use (20000+) and below the
 * kernel's ephemeral range (32768+), where a port picked at random is otherwise often already taken
 * by some short-lived client socket. Each port of the block is checked free right now.
 */
export async function freeSippMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + 4 * Math.floor(Math.random() * 2500);
    const free = await Promise.all([0, 1, 2, 3].map((offset) => udpPortFree(base + offset)));
    if (free.every(Boolean)) {
      return base;
    }
  }
  throw new Error('no free block of four UDP ports for sipp media');
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/**
 * The RTP range of the one test that holds thousands of ports at once (the INVITE flood): above
 * the kernel's ephemeral range (32768-60999) and apart from every other test's ports (SIPp media
 * 10000-19999, random RTP blocks from 20000), so a test file running beside it never finds its
 * ports taken. Only one file may use it.
 */
export const FLOOD_RTP_RANGE = { min: 61000, max: 64999 } as const;

/**
 * RTP ranges for the nodes the tests start: blocks of RTP_BLOCK ports in 20000-31999, above the
 * SIPp media ports and below the kernel's ephemeral range. Test files run two at a time, and a
 * node taking calls binds ports all over its range (the allocator goes round), so two nodes
 * whose ranges overlap take each other's ports: a busy one can leave the other none ("no free
 * RTP port", 503). Each block is therefore claimed across processes with a file made with O_EXCL
 * in a shared folder, holding the claimant's pid; a claim whose process is gone is stale and
 * taken over. A process keeps its blocks until it exits (a node restarted on the same range
 * keeps it), and reuses the blocks of the nodes it stopped (releaseRtpRange).
 */
const RTP_FIRST_PORT = 20000;
const RTP_BLOCK = 200;
const RTP_BLOCKS = 60;
const claimFolder = join(tmpdir(), 'verbatim-test-rtp-blocks');
/** Blocks this process holds on disk. */
const heldHere = new Set<number>();
/** Of those, the ones no running node of this process uses. */
const spareHere = new Set<number>();

export interface RtpRange {
  readonly min: number;
  readonly max: number;
}

/** A range of at least `size` ports (even-aligned), overlapping no other test process's range. */
export function claimRtpRange(size = RTP_BLOCK): RtpRange {
  const count = Math.ceil(size / RTP_BLOCK);
  const starts = Array.from({ length: RTP_BLOCKS - count + 1 }, (_, i) => i);
  // This process's spare blocks first, then the others from a random place (less contention).
  const offset = Math.floor(Math.random() * starts.length);
  const rotated = [...starts.slice(offset), ...starts.slice(0, offset)];
  const allSpare = (start: number): boolean =>
    Array.from({ length: count }, (_, k) => start + k).every((block) => spareHere.has(block));
  for (const start of [...rotated.filter(allSpare), ...rotated]) {
    const taken: number[] = [];
    for (let block = start; block < start + count; block++) {
      if (!takeBlock(block)) {
        break;
      }
      taken.push(block);
    }
    if (taken.length === count) {
      const min = RTP_FIRST_PORT + start * RTP_BLOCK;
      return { min, max: min + size - 1 };
    }
    for (const block of taken) {
      spareHere.add(block);
    }
  }
  throw new Error(`no ${count} free RTP block(s) of ${RTP_BLOCK} ports left in ${claimFolder}`);
}

/** Gives a range back to this process's spare blocks, for its next node. */
export function releaseRtpRange(range: RtpRange): void {
  for (let block = blockOf(range.min); block <= blockOf(range.max); block++) {
    if (heldHere.has(block)) {
      spareHere.add(block);
    }
  }
}

function blockOf(port: number): number {
  return Math.floor((port - RTP_FIRST_PORT) / RTP_BLOCK);
}

function takeBlock(block: number): boolean {
  if (spareHere.delete(block)) {
    return true;
  }
  if (heldHere.has(block)) {
    return false;
  }
  mkdirSync(claimFolder, { recursive: true });
  const path = join(claimFolder, String(block));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      heldHere.add(block);
      if (heldHere.size === 1) {
        process.once('exit', releaseClaims);
      }
      return true;
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !claimIsStale(path)) {
        return false;
      }
      rmSync(path, { force: true });
    }
  }
  return false;
}

/** A claim whose process no longer runs (a test process killed before its exit handler). */
function claimIsStale(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    return true;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function releaseClaims(): void {
  for (const block of heldHere) {
    rmSync(join(claimFolder, String(block)), { force: true });
  }
  heldHere.clear();
  spareHere.clear();
}
