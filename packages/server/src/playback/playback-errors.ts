/**
 * The errors of the exports. Named after the first export, the WAV file (its callers and tests
 * know it by this name); the track timeline raises the same class for a track file it cannot read,
 * so the MP4 and RTSP exports that reuse the timeline will report the same codes.
 */

import { VerbatimError } from '../model/errors.js';

export type WavExportErrorCode =
  | 'VERBATIM_ERR_PLAYBACK_TRACK_MISSING'
  | 'VERBATIM_ERR_PLAYBACK_TRACK_CORRUPT'
  | 'VERBATIM_ERR_PLAYBACK_BAD_OPTIONS';

export class WavExportError extends VerbatimError<WavExportErrorCode> {}

export type Mp4ExportErrorCode = 'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED' | 'VERBATIM_ERR_PLAYBACK_ABORTED';

/** The MP4 export's own failures: ffmpeg missing or failing, or the export aborted. */
export class Mp4ExportError extends VerbatimError<Mp4ExportErrorCode> {}
