import type { SipHeader, SipRequest, SipResponse } from '../protocol/sip/message.js';
import { buildResponse } from '../protocol/sip/serialize.js';
import type { SipTransport } from '../transport/sip-transport.js';
import { hostForUri } from './identifiers.js';
import type { SipBody } from './types.js';

/** Methods this UAS implements (RFC 3261 §20.5 Allow). */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'UPDATE', 'INFO'] as const;
/**
 * Option tags we support (RFC 3261 §20.37). A recording server (SRS) has to accept
 * `Require: siprec` (RFC 7866 §6.1.1); anything else required gets 420 (§8.2.2.3).
 */
export const SUPPORTED_OPTION_TAGS = ['siprec'] as const;
/**
 * Methods we know and refuse with 405 (RFC 3261 §8.2.1: "the UAS SHOULD generate a 405"
 * when it recognises the method but does not support it). Everything else unknown gets 501.
 */
export const KNOWN_UNSUPPORTED_METHODS: ReadonlySet<string> = new Set([
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'MESSAGE',
  'PUBLISH',
  'PRACK',
]);

interface ResponseOptions {
  readonly toTag?: string;
  readonly extraHeaders?: readonly SipHeader[];
  readonly body?: SipBody;
  /** Adds our Contact (2xx to INVITE, UPDATE and OPTIONS). */
  readonly contact?: boolean;
  /** Leaves out Allow/Supported (a 100 Trying only needs the copied headers). */
  readonly minimal?: boolean;
  /** The transport whose port and protocol our Contact names. */
  readonly transportForContact?: SipTransport;
}

/**
 * Builds every response of this UAS: the headers copied from the request (RFC 3261 §8.2.6) and
 * what we say about ourselves (§20.35 Server, §20.5 Allow, §20.37 Supported, our Contact).
 */
export class UasResponses {
  readonly #advertise: string;
  readonly #userAgent: string;

  /** `advertise` is the host of our Contact and of our Warning headers. */
  constructor(advertise: string, userAgent: string) {
    this.#advertise = advertise;
    this.#userAgent = userAgent;
  }

  build(request: SipRequest, status: number, reason: string, options: ResponseOptions): SipResponse {
    const extra = options.extraHeaders ?? [];
    const extraNames = new Set(extra.map((h) => h.name.toLowerCase()));
    const ours: SipHeader[] = [];
    if (options.contact === true && options.transportForContact !== undefined) {
      const transport = options.transportForContact;
      ours.push({
        name: 'Contact',
        value: `<sip:verbatim@${hostForUri(this.#advertise)}:${transport.port};transport=${transport.protocol}>`,
      });
    }
    if (options.minimal !== true) {
      ours.push({ name: 'Allow', value: ALLOWED_METHODS.join(', ') });
      ours.push({ name: 'Supported', value: SUPPORTED_OPTION_TAGS.join(', ') });
    }
    ours.push({ name: 'Server', value: this.#userAgent });
    const headers = [...ours.filter((h) => !extraNames.has(h.name.toLowerCase())), ...extra];
    return buildResponse(request, status, reason === '' ? defaultReason(status) : reason, {
      ...(options.toTag === undefined ? {} : { toTag: options.toTag }),
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  }

  /** A warning text as an RFC 3261 §20.43 quoted-string. */
  warning(text: string): SipHeader {
    const safe = text
      .replace(/[\\"]/g, "'")
      .replace(/[\r\n]/g, ' ')
      .slice(0, 200);
    return { name: 'Warning', value: `399 ${this.#advertise} "${safe}"` };
  }
}

function defaultReason(status: number): string {
  switch (status) {
    case 405:
      return 'Method Not Allowed';
    case 501:
      return 'Not Implemented';
    default:
      return 'Unknown';
  }
}
