import type { Logger } from 'pino';
import type { Session } from '../model/session.js';

/**
 * Where `verbatim export --format mp4` finds the MP4 conversion. The conversion itself lives in
 * playback/mp4-export.ts (`exportSessionMp4`), written beside this command; until it is part of
 * the build this answers undefined and the command says that MP4 export is not available. At the
 * merge this module becomes:
 *
 *     import { exportSessionMp4 } from '../playback/mp4-export.js';
 *     export function mp4ExportFunction(): ExportSessionMp4 | undefined {
 *       return exportSessionMp4;
 *     }
 */

/** The contract of playback/mp4-export.ts's exportSessionMp4. */
export type ExportSessionMp4 = (options: {
  session: Session;
  mediaDir: string;
  outPath: string;
  /** 0…1 of the session converted. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  logger?: Logger;
}) => Promise<void>;

export function mp4ExportFunction(): ExportSessionMp4 | undefined {
  return undefined;
}
