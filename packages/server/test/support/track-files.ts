import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/** The pcap global header, and one record of a 20 ms PCMU packet (record header, IPv4, UDP, RTP). */
export const PCAP_HEADER_BYTES = 24;
export const PCMU_RECORD_BYTES = 16 + 20 + 8 + 12 + 160;

/** A session's folder in the media directory: `<day>/<sessionId>/`, the day of its start (UTC). */
export function sessionFolder(
  mediaDir: string,
  session: { readonly sessionId: string; readonly sessionStartDate: number },
): string {
  const day = new Date(session.sessionStartDate).toISOString().slice(0, 10);
  return join(mediaDir, day, session.sessionId);
}

/**
 * Waits until track files 0 and 1 of an ACTIVE session each hold `packets` PCMU records on disk
 * (the worker writes them in batches): what a test that then breaks the disk may count on.
 */
export async function waitForPcmuOnDisk(
  mediaDir: string,
  session: { readonly sessionId: string; readonly sessionStartDate: number },
  packets: number,
): Promise<void> {
  const folder = sessionFolder(mediaDir, session);
  await waitFor(
    async () => {
      const sizes = await Promise.all(
        [0, 1].map((n) =>
          stat(join(folder, `track${n}.pcap`)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      return sizes.every((size) => size >= PCAP_HEADER_BYTES + packets * PCMU_RECORD_BYTES);
    },
    { what: `${packets} packets of each party on disk`, timeoutMs: 6000 },
  );
}
