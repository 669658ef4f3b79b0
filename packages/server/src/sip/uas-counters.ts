/** What the UAS core counts; every counter starts at zero and only grows. */
const COUNTER_NAMES = [
  'received',
  'sent',
  'requestsReceived',
  'responsesReceived',
  'malformed',
  'badRequestsAnswered',
  /** Messages over a limit of message-limits.ts, by limit (the 64 KiB size cap counts in malformed). */
  'overLimitHeaderFields',
  'overLimitVias',
  'overLimitHeaderFieldLength',
  'dropped',
  'retransmissionsAbsorbed',
  'retransmissionsSent',
  'acksUnknownDialog',
  'responsesUnmatched',
  'untrustedRejected',
  'overloadRejected',
  /** New-dialog INVITEs over their source address's rate (source-rate-limiter.ts), answered 503. */
  'sourceRateLimited',
  'cancelsMatched',
  'cancelsUnmatched',
  'invitesAccepted',
  'invitesRejected',
  'ackTimeouts',
  'nonTwoxxAckTimeouts',
  'byesReceived',
  'byesSent',
  'byeTimeouts',
  'unknownDialog',
  'sendFailures',
  /** Direct outbound recording (outbound-call.ts): INVITEs sent (a retry with credentials counts again). */
  'outboundInvitesSent',
  'outboundAuthChallenges',
  'outboundCancelsSent',
  'outboundAnswered',
  'outboundFailed',
] as const;
type SipCounterName = (typeof COUNTER_NAMES)[number];
export type UasCounters = Record<SipCounterName, number>;

export function newUasCounters(): UasCounters {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as UasCounters;
}
