/** What the UAS core counts; every counter starts at zero and only grows. */
const COUNTER_NAMES = [
  'received',
  'sent',
  'requestsReceived',
  'responsesReceived',
  'malformed',
  'badRequestsAnswered',
  'dropped',
  'retransmissionsAbsorbed',
  'retransmissionsSent',
  'acksUnknownDialog',
  'responsesUnmatched',
  'untrustedRejected',
  'overloadRejected',
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
] as const;
type SipCounterName = (typeof COUNTER_NAMES)[number];
export type UasCounters = Record<SipCounterName, number>;

export function newUasCounters(): UasCounters {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as UasCounters;
}
