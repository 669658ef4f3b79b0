/**
 * The MediaSense response envelope `{responseCode, responseMessage, responseBody?, detail?}` and
 * the table of response codes Verbatim uses (docs/api.md "Response codes"). MediaSense answers
 * application errors with HTTP 200 and a non-2000 code, and existing clients key on
 * `responseCode`, so the codes and the exact messages are part of the external contract.
 */

export interface Envelope {
  readonly responseCode: number;
  readonly responseMessage: string;
  readonly responseBody?: unknown;
  readonly detail?: string;
  /**
   * Top-level fields of the event service: the 1.0 subscribeRecordingEvent answered its id here
   * (DG90-p43), and verifyRecordingSubscription its status (DG90-p56). Verbatim also repeats the
   * id of subscribeToEvents here, beside `responseBody`, for clients written to either version.
   */
  readonly subscriptionId?: string;
  readonly subscriptionStatus?: string;
}

/** The long success text MediaSense uses on query and info APIs (observed on 11.5 getSessions). */
export const MESSAGE_SUCCESS_LONG = 'Success: Your request was successfully completed.';
/** The short success text MediaSense uses on signIn, addSessionTag and subscribe. */
export const MESSAGE_SUCCESSFUL = 'Successful';

export const RESPONSE_CODES = {
  success: 2000,
  /** No session matched, or paging went past the end; clients stop their paging loop on it. */
  noResults: 2001,
  /** subscribeToEvents again with the same URI and the same filters (DG90-p46). */
  subscriptionExists: 2005,
  malformedRequest: 4000,
  invalidParameter: 4001,
  missingParameter: 4002,
  unknownApi: 4004,
  authenticationFailed: 4020,
  invalidSession: 4021,
  /** Signed in, but the user's role may not make this request (docs/api.md "Roles"). */
  forbidden: 4022,
  /** Plain HTTP while the node serves HTTPS: only getAPIVersion answers over it (reference §1). */
  httpsRequired: 4023,
  queryUnknownField: 4030,
  queryUnknownOperator: 4031,
  queryOperatorNotAllowed: 4032,
  queryValueCount: 4033,
  queryInvalidValue: 4034,
  queryMissingStartDate: 4035,
  queryInvalidConnector: 4036,
  queryInvalidPaging: 4037,
  mediaNotFound: 4040,
  /** The session (or job, or user) the request names does not exist. */
  notFound: 4041,
  /** The thing named exists but its state does not allow the request (pause a closed session, …). */
  invalidState: 4042,
  /** The request would create what already exists (a user name taken, …). */
  alreadyExists: 4043,
  /** deleteSessions names sessions on legal hold (the retention policy's tag): nothing is deleted. */
  legalHold: 4044,
  /** Direct outbound recording (startRecording): the node has no `--outbound-proxy`. */
  outboundNotConfigured: 4070,
  /** The outbound call's outcome: the device busy (486, 600). */
  deviceBusy: 4072,
  /** The device rang until the answer timeout (CANCEL sent), or 408 / 480 / 487. */
  deviceNoAnswer: 4073,
  /** The call controller challenged and refused the configured credentials (or none are configured). */
  outboundAuthenticationFailed: 4074,
  /** The controller or the device refused the call (403, 404, 488, 603, 5xx…), or answered without usable audio. */
  outboundRefused: 4075,
  /** No response from the controller, or no connection to it. */
  controllerUnreachable: 4076,
  /** stopRecording (or shutdown) while the device was still ringing. */
  outboundCancelled: 4078,
  /** The node takes no new recording now (shutting down, --max-sessions, storage critical, no media port). */
  recordingUnavailable: 4079,
  internalError: 5000,
  /** MediaSense's own code and text (addendum §1), for the 26th request at once on a standard node. */
  tooManyRequests: 5042,
} as const;

export type ResponseCode = (typeof RESPONSE_CODES)[keyof typeof RESPONSE_CODES];

/** The message of every failure code; 4021 and 5042 are MediaSense's exact texts (reference §2, addendum §1). */
export const FAILURE_MESSAGES: Readonly<Record<Exclude<ResponseCode, 2000 | 2001 | 2005>, string>> = {
  4000: 'Failure: The request is malformed.',
  4001: 'Failure: A request parameter is invalid.',
  4002: 'Failure: A mandatory request parameter is missing.',
  4004: 'Failure: Unknown API.',
  4020: 'Failure: Sign in failed. The username or password is incorrect.',
  4021: 'Failure: Invalid session. The session may have expired. Sign in again or enter a valid JSESSIONID.',
  4022: 'Failure: Your role does not permit this request.',
  4023: 'Failure: This request must be made over HTTPS.',
  4030: 'Failure: The query names an unknown or unsearchable field.',
  4031: 'Failure: The query uses an unknown operator.',
  4032: 'Failure: The query uses an operator that the field does not support.',
  4033: 'Failure: The query gives the wrong number of values for its operator.',
  4034: 'Failure: The query gives a value of the wrong type.',
  4035: 'Failure: The query must include a sessionStartDate condition with the between operator.',
  4036: 'Failure: The query uses an unknown connector.',
  4037: 'Failure: The paging parameters are invalid.',
  4040: 'Failure: The requested media was not found.',
  4041: 'Failure: The requested item was not found.',
  4042: 'Failure: The request is not allowed in the current state.',
  4043: 'Failure: The item already exists.',
  4044: 'Failure: A session is under legal hold and cannot be deleted.',
  4070: 'Failure: Direct outbound recording is not configured on this node.',
  4072: 'Failure: The device is busy.',
  4073: 'Failure: The device did not answer.',
  4074: 'Failure: The call controller refused the credentials of the recording call.',
  4075: 'Failure: The call controller or the device refused the recording call.',
  4076: 'Failure: The call controller could not be reached.',
  4078: 'Failure: The recording call was cancelled before it was answered.',
  4079: 'Failure: The node cannot start another recording now.',
  5000: 'Failure: An internal error occurred. Try again later.',
  5042: 'Failure: The system has exceeded the maximum number of concurrent requests. Try again later.',
};

export const MESSAGE_NO_RESULTS = 'Success: No matching sessions were found.';

/** 2005's text; MediaSense's own is not public (its meaning is, DG90-p46). */
export const MESSAGE_SUBSCRIPTION_EXISTS = 'Success: The subscription already exists.';

export type FailureCode = keyof typeof FAILURE_MESSAGES;

/** An application failure as the routes produce it before it becomes an envelope. */
export interface ApiFailure {
  readonly responseCode: FailureCode;
  /** Names the offending parameter or value; sent as the envelope's `detail`. */
  readonly detail?: string;
}

export function success(responseBody?: unknown, message: string = MESSAGE_SUCCESS_LONG): Envelope {
  return responseBody === undefined
    ? { responseCode: RESPONSE_CODES.success, responseMessage: message }
    : { responseCode: RESPONSE_CODES.success, responseMessage: message, responseBody };
}

export function noResults(): Envelope {
  return { responseCode: RESPONSE_CODES.noResults, responseMessage: MESSAGE_NO_RESULTS };
}

export function failure(responseCode: FailureCode, detail?: string): Envelope {
  const responseMessage = FAILURE_MESSAGES[responseCode];
  return detail === undefined ? { responseCode, responseMessage } : { responseCode, responseMessage, detail };
}

export function failureEnvelope(f: ApiFailure): Envelope {
  return failure(f.responseCode, f.detail);
}
