/**
 * Who may play what over RTSP. The server (playback/) knows requests and presentations; checking
 * credentials against the user table, media tokens and roles, and writing the audit trail are the
 * API's (api/rtsp-access.ts implements this), handed in by app.ts so that layers point down.
 */

/** How an RTSP client proved who it is (kept in the audit trail). */
export type RtspCredentialKind = 'basic' | 'digest' | 'token';

export interface RtspUser {
  readonly username: string;
  readonly role: string;
  readonly via: RtspCredentialKind;
}

export interface RtspAccessRequest {
  readonly method: string;
  /** The Request-URI as sent (a Digest response covers it). */
  readonly uri: string;
  readonly authorization?: string;
  /** The `token` query parameter of the URL (from the `rtspUrl` the API hands out). */
  readonly token?: string;
  /** The recording session the URL names. */
  readonly sessionId: string;
  /** The client's address, for the audit trail and refusal counts. */
  readonly source: string;
}

export type RtspAccessDecision =
  | { readonly kind: 'allowed'; readonly user: RtspUser }
  /** No or wrong credentials: answer 401 with these WWW-Authenticate values, one header each. */
  | { readonly kind: 'unauthorized'; readonly challenges: readonly string[] }
  /** Valid credentials, but the role may not play recordings: 403. */
  | { readonly kind: 'forbidden'; readonly message: string }
  /** Too many password checks at once (each is an scrypt run): 503, the client retries. */
  | { readonly kind: 'busy' };

export interface RtspPlayRecord {
  readonly user: RtspUser;
  readonly sessionId: string;
  /** `archive`, `live`, with `-mix` for `?mix=1`. */
  readonly what: string;
  readonly source: string;
  /** False when the presentation was refused (no such session): audited too. */
  readonly found: boolean;
}

export interface RtspAccess {
  authorize(request: RtspAccessRequest): Promise<RtspAccessDecision>;
  /** Records a playback in the audit trail (never throws: a failed write is the trail's to log). */
  played(record: RtspPlayRecord): Promise<void>;
}
