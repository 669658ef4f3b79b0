import { VerbatimError } from '../model/errors.js';

/** Error codes of the media engine (listed in docs/errors.md). */
export const MEDIA_ERR_ENGINE_CLOSED = 'VERBATIM_ERR_MEDIA_ENGINE_CLOSED';
export const MEDIA_ERR_STREAM_EXISTS = 'VERBATIM_ERR_MEDIA_STREAM_EXISTS';
export const MEDIA_ERR_UNKNOWN_STREAM = 'VERBATIM_ERR_MEDIA_UNKNOWN_STREAM';
/** Binding the sockets or creating the track file failed for a reason other than a busy port. */
export const MEDIA_ERR_OPEN_FAILED = 'VERBATIM_ERR_MEDIA_OPEN_FAILED';
/** The worker thread that owned the stream exited (crash); its streams are closed. */
export const MEDIA_ERR_WORKER_EXITED = 'VERBATIM_ERR_MEDIA_WORKER_EXITED';
/** setSrtp or openStream with SRTP keys of the wrong size or an unsupported suite (a caller bug). */
export const MEDIA_ERR_SRTP_PARAMS = 'VERBATIM_ERR_MEDIA_SRTP_PARAMS';

export class MediaError extends VerbatimError {}
