/**
 * The values read from an RFC 7865 recording metadata document (rs-metadata.ts) and merged from
 * partial updates (metadata-merge.ts).
 */

export interface MetadataParticipant {
  /** `participant_id` (RFC 7865) or `id` (Oracle, BroadWorks, 2011 drafts), as sent. */
  readonly id: string;
  /** `<nameID aor>` or `<aor>`, trimmed, as sent (scheme-less, bare numbers and tokens occur). */
  readonly aor?: string;
  /** `<name>`, trimmed and unquoted; absent when missing or blank. */
  readonly name?: string;
  /** User part of the AOR (aorUserPart, protocol/sip/aor.ts); absent for placeholders. */
  readonly deviceRef?: string;
  /** Stream ids the participant sends, from any of the association styles. */
  readonly sends: readonly string[];
  /** Stream ids the participant receives. */
  readonly receives: readonly string[];
  /** Times as sent by the SRC (store only; the recorder's clock is the authority, quirk 18). */
  readonly associateTime?: string;
  readonly disassociateTime?: string;
  /**
   * True for a participant that names nobody: no AOR at all (also a participant known only
   * from an association element), or a known dummy such as Avaya SBCE's `sip:ASBCE@asbce.com`.
   */
  readonly placeholder: boolean;
  /** Leaf values of vendor elements inside the participant (Oracle `callingParty`, Intrado `role`). */
  readonly extensions: Readonly<Record<string, string>>;
}

export interface MetadataStream {
  /** `stream_id` or `id`, as sent; may be empty (Avaya SBCE announces a stream not yet set up). */
  readonly id: string;
  /** `<label>`, matching an SDP `a=label` (RFC 4574); opaque text, not a number. */
  readonly label?: string;
  /** `<mode>` when sent: "separate" or "mixed". */
  readonly mode?: string;
}

export interface RecordingMetadata {
  /** `<datamode>` as sent ("complete" or "partial"), RFC 7865 §6.1. */
  readonly dataMode?: string;
  readonly sessionId?: string;
  readonly groupId?: string;
  /** `<sipSessionID>` values: the recorded call's Session-ID or, for some SRCs, its Call-ID. */
  readonly sipSessionIds: readonly string[];
  /** In document order; participants known only from associations come last. */
  readonly participants: readonly MetadataParticipant[];
  readonly streams: readonly MetadataStream[];
  /**
   * Leaf values of vendor elements outside participants, by local element name as sent (or by
   * the `name`/`label` attribute of a name/value element): `ucid`, `gcid`, `callid`, `fromhdr`,
   * `extTrackingID`, `AvayaUCID`, `Role`, ... The first occurrence of a name wins.
   */
  readonly correlation: Readonly<Record<string, string>>;
  /**
   * How streams map to participants: 'associations' when the document carries any
   * `participantstreamassoc` or inline `<send>`/`<recv>` (even empty ones, e.g. on hold), else
   * 'document-order' (old OpenSIPS, intake-samples §3.7: the n-th participant sends the n-th stream).
   */
  readonly streamMapping: 'associations' | 'document-order';
}

/** Appends the values `list` does not hold yet, in order. */
export function pushUnique(list: string[], values: readonly string[]): void {
  new OrderedUnion(list).add(values);
}

/**
 * A list that values are added to once each, in order of first appearance, for the reader of one
 * document: it may add thousands of stream references to one list, one element at a time, and a
 * scan of the list per value would make that quadratic. The initial items are kept as given.
 */
export class OrderedUnion {
  readonly items: string[];
  readonly #seen: Set<string>;

  constructor(items: string[] = []) {
    this.items = items;
    this.#seen = new Set(items);
  }

  add(values: readonly string[]): void {
    for (const value of values) {
      if (!this.#seen.has(value)) {
        this.#seen.add(value);
        this.items.push(value);
      }
    }
  }
}
