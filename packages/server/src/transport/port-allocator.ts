import { VerbatimError } from '../model/errors.js';

/**
 * Hands out RTP ports from the configured UDP range. RTP takes an even port and RTCP the next
 * odd one (RFC 3550 §11, https://www.rfc-editor.org/rfc/rfc3550#section-11), so the allocator
 * works in pairs. Allocation is round-robin: the cursor only moves forward, so a port that was
 * just released is reused only after every other pair was tried. Late packets of an ended call
 * then hit a closed port instead of polluting the next recording.
 */
export class PortAllocator {
  readonly #firstPort: number;
  readonly #pairCount: number;
  /** One flag per pair: 1 while allocated. */
  readonly #allocated: Uint8Array;
  #cursor = 0;
  #inUse = 0;

  /** Uses every even port p with minPort <= p and p + 1 <= maxPort. */
  constructor(minPort: number, maxPort: number) {
    if (!isPort(minPort) || !isPort(maxPort) || minPort > maxPort) {
      throw new RangeError(`invalid RTP port range ${minPort}-${maxPort}`);
    }
    const firstPort = minPort % 2 === 0 ? minPort : minPort + 1;
    const lastPort = (maxPort - 1) % 2 === 0 ? maxPort - 1 : maxPort - 2;
    if (lastPort < firstPort) {
      throw new RangeError(`RTP port range ${minPort}-${maxPort} holds no even/odd pair`);
    }
    this.#firstPort = firstPort;
    this.#pairCount = (lastPort - firstPort) / 2 + 1;
    this.#allocated = new Uint8Array(this.#pairCount);
  }

  /** How many RTP/RTCP pairs the range holds. */
  get capacity(): number {
    return this.#pairCount;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** The next free even port after the last one handed out, or undefined when all are taken. */
  allocate(): number | undefined {
    if (this.#inUse === this.#pairCount) {
      return undefined;
    }
    for (let step = 0; step < this.#pairCount; step++) {
      const index = (this.#cursor + step) % this.#pairCount;
      if (this.#allocated[index] === 0) {
        this.#allocated[index] = 1;
        this.#inUse++;
        this.#cursor = (index + 1) % this.#pairCount;
        return this.#firstPort + 2 * index;
      }
    }
    return undefined;
  }

  /** Returns a port to the pool. Returns false (and changes nothing) for a port it did not hand out. */
  release(port: number): boolean {
    const index = this.#indexOf(port);
    if (index === undefined || this.#allocated[index] === 0) {
      return false;
    }
    this.#allocated[index] = 0;
    this.#inUse--;
    return true;
  }

  isAllocated(port: number): boolean {
    const index = this.#indexOf(port);
    return index !== undefined && this.#allocated[index] === 1;
  }

  /**
   * Allocates a port and lets `bind` open it. Another process may hold a port of our range, so
   * a bind that fails with EADDRINUSE releases that port and tries the next one, up to
   * `maxAttempts` times; any other failure releases the port and is rethrown. Throws
   * PortsExhaustedError when no port is left or every attempt was in use.
   */
  async acquire<T>(
    bind: (port: number) => Promise<T>,
    maxAttempts = Math.min(this.#pairCount, 64),
  ): Promise<{ readonly port: number; readonly value: T }> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const port = this.allocate();
      if (port === undefined) {
        break;
      }
      try {
        const value = await bind(port);
        return { port, value };
      } catch (error: unknown) {
        this.release(port);
        if (!isAddressInUse(error)) {
          throw error;
        }
      }
    }
    throw new PortsExhaustedError(this.#firstPort, this.#firstPort + 2 * this.#pairCount - 1, this.#inUse);
  }

  #indexOf(port: number): number | undefined {
    const offset = port - this.#firstPort;
    if (!Number.isInteger(offset) || offset < 0 || offset % 2 !== 0 || offset / 2 >= this.#pairCount) {
      return undefined;
    }
    return offset / 2;
  }
}

/** No RTP port could be bound: every pair is allocated or held by another process. */
export class PortsExhaustedError extends VerbatimError<'VERBATIM_ERR_TRANSPORT_PORTS_EXHAUSTED'> {
  constructor(firstPort: number, lastPort: number, inUse: number) {
    super(
      'VERBATIM_ERR_TRANSPORT_PORTS_EXHAUSTED',
      `no free RTP port in ${firstPort}-${lastPort} (${inUse} allocated here)`,
    );
  }
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** True for a bind error that means "someone else has this port" (the caller tries the next). */
export function isAddressInUse(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EADDRINUSE';
}
