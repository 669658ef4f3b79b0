import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LiveAudioStream, type LiveTrackCodec } from '../../../src/playback/live-audio.js';
import { decodeLiveFrame, encodeLiveFrame, type LiveAudioFrame } from '../../../src/playback/live-frame.js';
import type { LivePacket } from '../../../src/playback/live-feed.js';
import { serializeRtpPacket } from '../../../src/protocol/rtp/rtp-packet.js';

/** Live packets to PCM frames: codecs, gaps, foreign payload types, late codecs, the wire format. */

function packet(
  seq: number,
  options: { pt?: number; ssrc?: number; step?: number; bytes?: number; arrivalMs?: number } = {},
): LivePacket {
  const step = options.step ?? 160;
  return {
    arrivalMs: options.arrivalMs ?? 1000 + seq,
    rtp: serializeRtpPacket(
      {
        marker: false,
        payloadType: options.pt ?? 0,
        sequenceNumber: seq,
        timestamp: seq * step,
        ssrc: options.ssrc ?? 1,
      },
      new Uint8Array(options.bytes ?? 160).fill(0x80),
    ),
  };
}

function stream(codecs: Record<number, LiveTrackCodec | undefined>, nowMs = { value: 0 }) {
  const frames: LiveAudioFrame[] = [];
  const asked: number[] = [];
  const audio = new LiveAudioStream({
    codecOf: (trackNumber) => {
      asked.push(trackNumber);
      return Promise.resolve(codecs[trackNumber]);
    },
    send: (frame) => frames.push(frame),
    now: () => nowMs.value,
  });
  return { audio, frames, asked };
}

const PCMU: LiveTrackCodec = { codec: 'PCMU', clockRateHz: 8000, payloadType: 0 };

void describe('LiveAudioStream', () => {
  it('frames track 0 and track 1 on channels 0 and 1, ignores other tracks and other payload types', async () => {
    const { audio, frames } = stream({ 0: PCMU, 1: PCMU, 2: PCMU });
    audio.push(0, [packet(1), packet(2, { pt: 101, bytes: 4 }), packet(3)]);
    audio.push(1, [packet(7, { arrivalMs: 5 })]);
    audio.push(2, [packet(1)]);
    await audio.drained();
    assert.deepEqual(
      frames.map((f) => [f.channel, f.trackNumber, f.sampleRateHz, f.arrivalMs, f.pcm.length]),
      [
        // The telephone-event between is not voice; seq 2's place is a lost packet's silence.
        [0, 0, 8000, 1001, 480],
        [1, 1, 8000, 5, 160],
      ],
    );
  });

  it('decodes G.722 at 16 kHz and fills a lost packet with 20 ms of silence at that rate', async () => {
    const { audio, frames } = stream({ 0: { codec: 'G722', clockRateHz: 8000, payloadType: 9 } });
    audio.push(0, [packet(1, { pt: 9 })]);
    audio.push(0, [packet(3, { pt: 9 })]);
    await audio.drained();
    assert.deepEqual(
      frames.map((f) => [f.sampleRateHz, f.pcm.length]),
      [
        [16000, 320],
        [16000, 640],
      ],
    );
    assert.ok(frames[1]?.pcm.subarray(0, 320).every((s) => s === 0));
  });

  it('drops late and repeated packets, follows a new SSRC without filling', async () => {
    const { audio, frames } = stream({ 0: PCMU });
    audio.push(0, [packet(10)]);
    audio.push(0, [packet(9), packet(10)]);
    audio.push(0, [packet(500, { ssrc: 2 })]);
    await audio.drained();
    assert.deepEqual(
      frames.map((f) => f.pcm.length),
      [160, 160],
    );
  });

  it('asks again for a codec not known yet, at most twice a second, and plays once it is', async () => {
    const codecs: Record<number, LiveTrackCodec | undefined> = {};
    const clock = { value: 0 };
    const { audio, frames, asked } = stream(codecs, clock);
    audio.push(0, [packet(1)]);
    audio.push(0, [packet(2)]);
    await audio.drained();
    assert.deepEqual(asked, [0]);
    codecs[0] = PCMU;
    clock.value = 600;
    audio.push(0, [packet(3)]);
    await audio.drained();
    assert.deepEqual(asked, [0, 0]);
    assert.equal(frames.length, 1);
  });

  it('sends nothing after close', async () => {
    const { audio, frames } = stream({ 0: PCMU });
    audio.close();
    audio.push(0, [packet(1)]);
    await audio.drained();
    assert.equal(frames.length, 0);
  });
});

void describe('live frames on the wire', () => {
  it('round-trips a frame and refuses a malformed one', () => {
    const frame: LiveAudioFrame = {
      channel: 1,
      trackNumber: 1,
      sampleRateHz: 48000,
      arrivalMs: 1_733_000_000_123.5,
      pcm: Int16Array.from([0, 1, -1, 32767, -32768]),
    };
    const bytes = encodeLiveFrame(frame);
    assert.equal(bytes.length, 16 + 10);
    assert.deepEqual([...bytes.subarray(0, 4)], [1, 1, 1, 0]);
    assert.deepEqual(decodeLiveFrame(bytes), frame);
    assert.equal(decodeLiveFrame(bytes.subarray(0, 15)), undefined);
    assert.equal(decodeLiveFrame(bytes.subarray(0, 17)), undefined);
    const other = bytes.slice();
    other[0] = 2;
    assert.equal(decodeLiveFrame(other), undefined);
  });
});
