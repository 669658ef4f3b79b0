/**
 * Every fuzz property and every corpus replay, for the long-run fuzzer (test/fuzz/runner.ts). The
 * test files under test/unit/fuzz import the same family modules, so both run one definition.
 */
import type { AnyFuzzProperty } from '../fuzz-property.js';
import { byteRangeProperties, byteRangeReplays } from './byte-range.js';
import { containerProperties, containerReplays } from './container.js';
import { multipartProperties, multipartReplays } from './multipart.js';
import { rtpProperties, rtpReplays } from './rtp.js';
import { rtspProperties, rtspReplays } from './rtsp.js';
import { sdpProperties, sdpReplays } from './sdp.js';
import { sipProperties, sipReplays } from './sip.js';
import { siprecProperties, siprecReplays } from './siprec.js';

export const ALL_PROPERTIES: readonly AnyFuzzProperty[] = [
  ...sipProperties,
  ...sdpProperties,
  ...rtpProperties,
  ...containerProperties,
  ...multipartProperties,
  ...siprecProperties,
  ...byteRangeProperties,
  ...rtspProperties,
];

type Replay = (bytes: Uint8Array) => void;

/** For each corpus folder, every check that replays its files (a folder may serve two families). */
export const ALL_REPLAYS: ReadonlyMap<string, readonly Replay[]> = (() => {
  const replays = new Map<string, Replay[]>();
  for (const family of [
    sipReplays,
    sdpReplays,
    rtpReplays,
    containerReplays,
    multipartReplays,
    siprecReplays,
    byteRangeReplays,
    rtspReplays,
  ]) {
    for (const [corpus, replay] of Object.entries(family)) {
      replays.set(corpus, [...(replays.get(corpus) ?? []), replay]);
    }
  }
  return replays;
})();
