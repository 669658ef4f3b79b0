import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { isIPv6 } from 'node:net';

/**
 * What the Linux kernel says about UDP reception, from procfs: the host's receive-buffer
 * overflows (/proc/net/snmp, /proc/net/snmp6) and, per socket, the bytes still queued and the
 * datagrams dropped (/proc/net/udp, /proc/net/udp6). Where a file is missing (another OS, a
 * sandbox without procfs) the counters read as 0 or as unknown, never as an error.
 */

/** One socket's line of /proc/net/udp: what its receive queue holds and what it dropped. */
export interface UdpSocketState {
  /** Bytes the kernel charges for the queued datagrams (each one its length plus buffer overhead). */
  readonly rxQueueBytes: number;
  /** Datagrams dropped on this socket since it was created (receive buffer full, bad checksum). */
  readonly drops: number;
}

/**
 * `Udp: RcvbufErrors` of /proc/net/snmp plus `Udp6RcvbufErrors` of /proc/net/snmp6: datagrams
 * the host dropped because a socket's receive buffer was full. `snmp` holds two `Udp:` lines, the
 * field names and then the values.
 */
export function parseUdpRcvbufErrors(snmp: string, snmp6 = ''): number {
  let total = 0;
  const lines = snmp.split('\n').filter((line) => line.startsWith('Udp: '));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const index = names.indexOf('RcvbufErrors');
  if (index > 0) {
    total += Number(values[index] ?? 0) || 0;
  }
  const v6 = /^Udp6RcvbufErrors\s+(\d+)/m.exec(snmp6);
  if (v6 !== null) {
    total += Number(v6[1]);
  }
  return total;
}

/** The host's UDP receive-buffer overflows now (0 where procfs does not say). Two small files. */
export function readUdpRcvbufErrors(): number {
  return parseUdpRcvbufErrors(readOptional('/proc/net/snmp'), readOptional('/proc/net/snmp6'));
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/**
 * The lines of /proc/net/udp or /proc/net/udp6 for the given local ports:
 *
 *     sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 *     12: 0100007F:4E20 00000000:0000 07 00000000:00000340 00:00000000 00000000  1000        0 35 2 0000000000000000 0
 *
 * Addresses and ports are hexadecimal. `localAddressHex`, when given, skips sockets of the same
 * port on another address (another process may bind the port of a specific address we do not
 * use). Only the wanted ports are parsed further, so a table of thousands of sockets costs a
 * fraction of a millisecond.
 */
export function parseUdpSocketTable(
  text: string,
  ports: ReadonlySet<number>,
  localAddressHex?: string,
): Map<number, UdpSocketState> {
  const table = new Map<number, UdpSocketState>();
  let lineStart = text.indexOf('\n') + 1; // The header line.
  while (lineStart > 0 && lineStart < text.length) {
    const lineEnd = text.indexOf('\n', lineStart);
    const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
    lineStart = lineEnd < 0 ? text.length : lineEnd + 1;
    const local = line.indexOf(':') + 2; // After "  sl: ".
    const portColon = line.indexOf(':', local);
    if (local < 2 || portColon < 0) {
      continue;
    }
    const port = parseInt(line.slice(portColon + 1, portColon + 5), 16);
    if (!ports.has(port)) {
      continue;
    }
    if (localAddressHex !== undefined && line.slice(local, portColon) !== localAddressHex) {
      continue;
    }
    const fields = line.trim().split(/\s+/);
    const queues = fields[4]?.split(':');
    const rxQueueBytes = parseInt(queues?.[1] ?? '', 16);
    const drops = Number(fields[12]);
    if (Number.isFinite(rxQueueBytes) && Number.isFinite(drops)) {
      table.set(port, { rxQueueBytes, drops });
    }
  }
  return table;
}

/**
 * How /proc/net/udp writes a specific IPv4 bind address: the 32-bit value as the host stores it,
 * so little-endian hosts show the bytes reversed (127.0.0.1 is 0100007F). Undefined for IPv6 and
 * for names, where only the port is matched.
 */
export function procAddressHex(address: string): string | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part))) {
    return undefined;
  }
  const bytes = parts.map((part) => Number(part).toString(16).toUpperCase().padStart(2, '0'));
  return (endianness() === 'LE' ? bytes.reverse() : bytes).join('');
}

/**
 * The kernel's charge for a queued datagram beyond its length (the socket buffer bookkeeping:
 * struct sk_buff and skb_shared_info, 576 bytes on 64-bit Linux, plus headroom). Measured on
 * loopback: a 172-byte RTP datagram (G.711, 20 ms) is charged 832 bytes.
 */
const QUEUED_DATAGRAM_OVERHEAD_BYTES = 660;

/**
 * How many datagrams `rxQueueBytes` of receive queue hold, for datagrams of about
 * `datagramBytes`: at least one when anything is queued. Exact on loopback for voice packets;
 * an interface that charges more per datagram (page-sized receive buffers) makes it count fewer.
 */
export function estimateQueuedDatagrams(rxQueueBytes: number, datagramBytes: number): number {
  if (rxQueueBytes <= 0) {
    return 0;
  }
  const perDatagram = Math.max(1, datagramBytes) + QUEUED_DATAGRAM_OVERHEAD_BYTES;
  return Math.max(1, Math.round(rxQueueBytes / perDatagram));
}

/**
 * Reads /proc/net/udp (or udp6) for the sockets of one worker. Every caller gets a read that
 * started after it asked (so a drained socket's queue is seen as it is now), callers that ask
 * while a read is pending share it, and reads start at most every `minSpacingMs`: with a
 * thousand sockets open, one read costs about 5 ms of kernel time, whatever the number of
 * streams closing at once.
 */
export class UdpSocketTable {
  readonly #path: string;
  readonly #localAddressHex: string | undefined;
  readonly #minSpacingMs: number;
  readonly #ports: () => ReadonlySet<number>;
  #waiting: ((table: ReadonlyMap<number, UdpSocketState> | undefined) => void)[] = [];
  #scheduled = false;
  #reading = false;
  #lastStartMs = -Infinity;
  /** Set when the file could not be read: it is not tried again (no procfs here). */
  #unavailable = false;

  /** `ports` gives the ports to look for at the time of each read. */
  constructor(bindAddress: string, minSpacingMs: number, ports: () => ReadonlySet<number>) {
    this.#path = isIPv6(bindAddress) ? '/proc/net/udp6' : '/proc/net/udp';
    const hex = procAddressHex(bindAddress);
    this.#localAddressHex = hex === '00000000' ? undefined : hex;
    this.#minSpacingMs = minSpacingMs;
    this.#ports = ports;
  }

  /** The table as read after this call, or undefined where it cannot be read. */
  read(): Promise<ReadonlyMap<number, UdpSocketState> | undefined> {
    if (this.#unavailable) {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#reading || this.#waiting.length === 0) {
      return;
    }
    this.#scheduled = true;
    const waitMs = Math.max(0, this.#lastStartMs + this.#minSpacingMs - Date.now());
    setTimeout(() => {
      this.#scheduled = false;
      this.#start();
    }, waitMs);
  }

  #start(): void {
    const callers = this.#waiting;
    this.#waiting = [];
    this.#reading = true;
    this.#lastStartMs = Date.now();
    const ports = this.#ports();
    void this.#readText().then((text) => {
      this.#reading = false;
      this.#unavailable = text === undefined;
      const table = text === undefined ? undefined : parseUdpSocketTable(text, ports, this.#localAddressHex);
      for (const resolve of callers) {
        resolve(table);
      }
      this.#schedule();
    });
  }

  /** The whole file, read off the worker's thread (the kernel formats it in the libuv pool). */
  async #readText(): Promise<string | undefined> {
    try {
      return await readFile(this.#path, 'latin1');
    } catch {
      return undefined;
    }
  }
}
