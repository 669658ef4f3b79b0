import type { Session } from '../model/session.js';

/** The most numbers a file name lists (a conference would make it unreadable). */
const MAX_NUMBERS = 4;
/** The longest number kept in a file name. */
const MAX_NUMBER_LENGTH = 32;

/** A name part with nothing a file system or a Content-Disposition header could trip on. */
function safePart(text: string, allowed: RegExp): string {
  return text.replace(allowed, '_');
}

/** `2026-12-03_17-20-05Z`: sorts by time, and holds no `:` (Windows file names). */
function startStamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 10)}_${iso.slice(11, 19).replaceAll(':', '-')}Z`;
}

/**
 * The file name a download is saved under (Content-Disposition): what a person recognises in a
 * folder of recordings, in this order: when the call started (UTC), the numbers on it (the
 * participants' deviceRefs, track order, at most four), and the session id that finds it again:
 * `2026-12-03_17-20-05Z_2001_3001_5a13177450e571.wav`. `suffix` ends it (`.wav`, `-TRACK1.pcap`).
 */
export function downloadFileName(session: Session, suffix: string): string {
  const numbers: string[] = [];
  for (const track of [...session.tracks].sort((a, b) => a.trackNumber - b.trackNumber)) {
    for (const participant of track.participants) {
      const number = safePart(participant.deviceRef.slice(0, MAX_NUMBER_LENGTH), /[^A-Za-z0-9+*#.-]/g);
      if (number !== '' && !numbers.includes(number) && numbers.length < MAX_NUMBERS) {
        numbers.push(number);
      }
    }
  }
  const parts = [startStamp(session.sessionStartDate), ...numbers, safePart(session.sessionId, /[^\w.-]/g)];
  return `${parts.join('_')}${suffix}`;
}

/** The Content-Disposition of a download: saved as a file, under that name. */
export function attachmentHeader(fileName: string): string {
  // downloadFileName leaves only characters that need no quoting rules beyond the quotes.
  return `attachment; filename="${fileName}"`;
}
