/**
 * CUCM built-in-bridge and network-based recording (DESIGN.md §1.2, intake-samples §1): each
 * recorded call arrives as two INVITEs, one per voice, and all the metadata rides as URI
 * parameters of the From header:
 *
 *   From: <sip:1001@cucm;x-nearend;x-refci=19301625;x-nearenddevice=SEP6C416A369525;
 *          x-nearendaddr=1001;x-farendrefci=19301624;x-farenddevice=SEP38ED18552A12;
 *          x-farendaddr=1000>;tag=…
 *
 * The first flag parameter says which voice the dialog carries; the other parameters are the same
 * in both dialogs and identify the call.
 */

export type CucmStream = 'near' | 'far';

export interface CucmParty {
  /** Number (x-nearendaddr / x-farendaddr). */
  readonly address?: string;
  /** Device name: SEP…, a CTI port, a trunk name or an address (x-nearenddevice / x-farenddevice). */
  readonly device?: string;
  /** Call-leg reference (x-refci for the near end, x-farendrefci for the far end). */
  readonly refCi?: string;
  readonly clusterId?: string;
  readonly guid?: string;
}

export interface CucmLeg {
  readonly stream: CucmStream;
  readonly nearEnd: CucmParty;
  readonly farEnd: CucmParty;
  /** x-sessionid (CUBE Media Proxy in front of CUCM), when present. */
  readonly sessionIdParam?: string;
}

/**
 * Reads the CUCM recording parameters of a From URI, or undefined when the URI carries none (the
 * INVITE is then not a CUCM recording leg). Parameter names are matched case-insensitively (the
 * URI parser lowercases them) and values are kept as written.
 */
export function readCucmLeg(params: ReadonlyMap<string, string | null>): CucmLeg | undefined {
  const value = (name: string): string | undefined => {
    const v = params.get(name);
    return v === null || v === undefined || v === '' ? undefined : v;
  };
  const stream = streamOf(params);
  const refCi = value('x-refci');
  const farEndRefCi = value('x-farendrefci');
  if (stream === undefined || (refCi === undefined && farEndRefCi === undefined)) {
    return undefined;
  }
  const party = (prefix: 'nearend' | 'farend', ref: string | undefined): CucmParty => {
    const fields: Record<string, string | undefined> = {
      address: value(`x-${prefix}addr`),
      device: value(`x-${prefix}device`),
      refCi: ref,
      clusterId: value(`x-${prefix}clusterid`),
      guid: value(`x-${prefix}guid`),
    };
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  };
  const sessionIdParam = value('x-sessionid');
  return {
    stream,
    nearEnd: party('nearend', refCi),
    farEnd: party('farend', farEndRefCi),
    ...(sessionIdParam === undefined ? {} : { sessionIdParam }),
  };
}

/**
 * `x-nearend` or `x-farend` is the first parameter. Real traces contain typos such as `x-farrend`
 * (intake-samples §1.4), so a flag parameter that starts with x-near / x-far is accepted too.
 */
function streamOf(params: ReadonlyMap<string, string | null>): CucmStream | undefined {
  if (params.has('x-nearend')) {
    return 'near';
  }
  if (params.has('x-farend')) {
    return 'far';
  }
  for (const [name, v] of params) {
    if (v !== null) {
      continue;
    }
    if (name.startsWith('x-near')) {
      return 'near';
    }
    if (name.startsWith('x-far')) {
      return 'far';
    }
  }
  return undefined;
}

/** The key that pairs the two INVITEs of one recorded call: controller + the two call-leg ids. */
export function cucmSessionKey(controllerAddress: string, leg: CucmLeg): string {
  return `${controllerAddress}|${leg.nearEnd.refCi ?? ''}|${leg.farEnd.refCi ?? ''}`;
}
