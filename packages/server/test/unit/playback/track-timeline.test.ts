import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MULAW_TO_LINEAR } from '../../../src/protocol/codec/g711.js';
import { WavExportError } from '../../../src/playback/playback-errors.js';
import { openTrackTimeline, prepareTrack } from '../../../src/playback/track-timeline.js';
import { dominantFrequencyHz, sineG711Packets } from '../../support/audio.js';
import {
  PCMU,
  SESSION_START_MS,
  TrackFiles,
  byteOf,
  renderMono,
  runs,
  type PacketSpec,
} from './timeline-fixture.js';

/**
 * The track timeline read directly: a pcap file in, the track's samples on the session timeline
 * out, with no WAV around them. Payloads are constant G.711 bytes, so every output sample names
 * the packet it came from. How packets are placed under delay, loss and discontinuities:
 * track-timeline-placement.test.ts.
 */

describe('track timeline', () => {
  const files = new TrackFiles();
  const trackOf = files.trackOf.bind(files);

  before(() => files.open());
  after(() => files.close());

  it('places packets by RTP timestamp from the first arrival, absorbing jitter, and leaves gaps silent', async () => {
    const track = await trackOf([
      { atMs: 10, seq: 1, timestamp: 1000 },
      { atMs: 33, seq: 2, timestamp: 1160 }, // 3 ms late: still at 30 ms.
      // seq 3 lost: 50–70 ms stays silent.
      { atMs: 71, seq: 4, timestamp: 1480 },
    ]);
    const samples = await renderMono(track, 800);
    assert.deepEqual(runs(samples), [
      [0, 0],
      [80, byteOf(0)],
      [240, byteOf(1)],
      [400, 0],
      [560, byteOf(2)],
      [720, 0],
    ]);
  });

  it('re-anchors at the arrival on a timestamp jump the sequence numbers do not explain, beyond 100 ms of disagreement', async () => {
    const track = await trackOf([
      { atMs: 0, seq: 1, timestamp: 0 },
      { atMs: 20, seq: 2, timestamp: 160 + 8000 * 5 }, // A 5 s timestamp jump: placed at 20 ms.
      { atMs: 40, seq: 3, timestamp: 320 + 8000 * 5 }, // Follows the new anchor.
      // 40 ms after its arrival on the new clock: within the threshold, so placed by its timestamp.
      { atMs: 100, seq: 4, timestamp: 480 + 8000 * 5 + 640 },
    ]);
    assert.deepEqual(runs(await renderMono(track, 1400)), [
      [0, byteOf(0)],
      [160, byteOf(1)],
      [320, byteOf(2)],
      [480, 0],
      [1120, byteOf(3)],
      [1280, 0],
    ]);
  });

  it('keeps the first copy of a duplicate, skips other payload types and RTCP, and re-anchors a new SSRC', async () => {
    const track = await trackOf([
      { atMs: 0, seq: 7, timestamp: 0 },
      { atMs: 5, seq: 7, timestamp: 0, payload: new Uint8Array(160).fill(0x05) }, // Duplicate.
      { atMs: 6, seq: 8, timestamp: 160, payloadType: 101, payload: Uint8Array.from([1, 0x8a, 0, 160]) },
      { atMs: 20, seq: 8, timestamp: 160 },
      { atMs: 30, seq: 0, timestamp: 0, raw: Uint8Array.from([0x80, 201, 0, 1, 0, 0, 0, 1]) }, // RTCP.
      // A new source 200 ms later whose timestamps mean nothing on the old clock.
      { atMs: 200, seq: 7, timestamp: 999_999, ssrc: 0xdef },
    ]);
    assert.deepEqual(runs(await renderMono(track, 2000)), [
      [0, byteOf(0)],
      [160, byteOf(3)],
      [320, 0],
      [1600, byteOf(5)],
      [1760, 0],
    ]);
  });

  it('cuts audio before sample 0 and renders windows of any size identically, skipped or not', async () => {
    const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: 440, count: 100 }).map(
      (packet, i): PacketSpec => ({
        atMs: -30 + i * 20 + ((i * 7) % 5),
        seq: packet.sequenceNumber,
        timestamp: packet.timestamp,
        payload: packet.payload,
      }),
    );
    const track = await trackOf(packets);
    const whole = await renderMono(track, 16000);
    // The first packet arrived 30 ms before sample 0: its first 240 samples are cut.
    assert.equal(whole[0], MULAW_TO_LINEAR[packets[1]?.payload?.[80] ?? 0]);
    for (const window of [1, 77, 160, 4000]) {
      assert.deepEqual(await renderMono(track, 16000, {}, window), whole, `window ${window}`);
    }
    // Moving past the first half without rendering it leaves the second half unchanged.
    const timeline = await openTrackTimeline(track, { outputRateHz: 8000, sessionStartMs: SESSION_START_MS });
    assert.ok(timeline !== undefined);
    await timeline.prepare(8000);
    timeline.render(0, 8000, undefined, 0, 1);
    await timeline.prepare(16000);
    const tail = new Int16Array(8000);
    timeline.render(8000, 16000, tail, 0, 1);
    timeline.close();
    assert.deepEqual(tail, whole.subarray(8000));
  });

  it('writes into one channel of an interleaved buffer and leaves the other as it was', async () => {
    const track = await trackOf([{ atMs: 0, seq: 1, timestamp: 0 }]);
    const timeline = await openTrackTimeline(track, { outputRateHz: 8000, sessionStartMs: SESSION_START_MS });
    assert.ok(timeline !== undefined);
    const stereo = new Int16Array(2 * 200).fill(7);
    await timeline.prepare(200);
    timeline.render(0, 200, stereo, 1, 2);
    timeline.close();
    assert.deepEqual(
      [stereo[0], stereo[1], stereo[318], stereo[319], stereo[320], stereo[321]],
      [7, MULAW_TO_LINEAR[byteOf(0)], 7, MULAW_TO_LINEAR[byteOf(0)], 7, 7],
    );
  });

  it('resamples to the output rate, keeping the tone and its place', async () => {
    const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: 1000, count: 50, amplitude: 12000 }).map(
      (packet, i): PacketSpec => ({
        atMs: 500 + i * 20,
        seq: packet.sequenceNumber,
        timestamp: packet.timestamp,
        payload: packet.payload,
      }),
    );
    const track = await trackOf(packets);
    const up = await renderMono(track, 32000, { outputRateHz: 16000 });
    assert.equal(dominantFrequencyHz(up, 16000, 8000, 16000), 1000);
    // Silent until 500 ms, give or take the resampling filter's reach.
    assert.ok(up.subarray(0, 7900).every((sample) => sample === 0));
    assert.ok(up.subarray(24100).every((sample) => sample === 0));
    assert.deepEqual(await renderMono(track, 32000, { outputRateHz: 16000 }, 333), up);
  });

  it('is silent throughout for a codec without a decoder and for a file without a header', async () => {
    const video = await prepareTrack(
      { filePath: files.path('absent.pcap'), codec: 'H264', payloadType: 99 },
      undefined,
    );
    assert.equal(video.description, undefined);
    assert.equal(await openTrackTimeline(video, { outputRateHz: 8000, sessionStartMs: 0 }), undefined);
    const empty = await trackOf(new Uint8Array(0));
    assert.equal(empty.hasHeader, false);
    assert.equal(empty.description?.sampleRateHz, 8000);
    assert.equal(await openTrackTimeline(empty, { outputRateHz: 8000, sessionStartMs: 0 }), undefined);
    assert.equal(await openTrackTimeline(undefined, { outputRateHz: 8000, sessionStartMs: 0 }), undefined);
  });

  it('refuses a missing file and a file that is not pcap', async () => {
    await assert.rejects(
      prepareTrack({ ...PCMU, filePath: files.path('missing.pcap') }, undefined),
      (error) => {
        assert.ok(error instanceof WavExportError);
        assert.equal(error.code, 'VERBATIM_ERR_PLAYBACK_TRACK_MISSING');
        return true;
      },
    );
    await assert.rejects(trackOf(new TextEncoder().encode('this is not a capture file at all')), {
      code: 'VERBATIM_ERR_PLAYBACK_TRACK_CORRUPT',
    });
  });
});
