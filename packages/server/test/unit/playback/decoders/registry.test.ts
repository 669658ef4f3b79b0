import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTrackDecoder, describeDecoder } from '../../../../src/playback/decoders/registry.js';
import { opusPacketSamples } from '../../../../src/playback/decoders/opus-decoder.js';

describe('decoder registry', () => {
  it('gives each codec its decoding rate and RTP clock', () => {
    const rates = (
      codec: string,
      extra: { clockRateHz?: number; payloadType?: number; channels?: number } = {},
    ) => {
      const d = describeDecoder({ codec, ...extra });
      return d === undefined ? undefined : [d.codec, d.sampleRateHz, d.rtpClockRateHz, d.channels];
    };
    assert.deepEqual(rates('pcmu'), ['PCMU', 8000, 8000, 1]);
    assert.deepEqual(rates('PCMA'), ['PCMA', 8000, 8000, 1]);
    // G.722: 16 kHz audio on an 8 kHz RTP clock (RFC 3551 §4.5.2).
    assert.deepEqual(rates('G722', { clockRateHz: 8000 }), ['G722', 16000, 8000, 1]);
    for (const name of ['G729', 'g729a', 'G.729', 'G729B', 'G729AB']) {
      assert.deepEqual(rates(name), ['G729', 8000, 8000, 1], name);
    }
    assert.deepEqual(rates('opus', { clockRateHz: 48000 }), ['OPUS', 48000, 48000, 1]);
    assert.deepEqual(rates('L16', { clockRateHz: 16000 }), ['L16', 16000, 16000, 1]);
    assert.deepEqual(rates('L16', { payloadType: 10 }), ['L16', 44100, 44100, 2]);
    assert.deepEqual(rates('L16', { payloadType: 11 }), ['L16', 44100, 44100, 1]);
    assert.deepEqual(rates('L16', { clockRateHz: 48000, channels: 2 }), ['L16', 48000, 48000, 2]);
  });

  it('has no decoder for video, AAC, unknown names or impossible L16 parameters', async () => {
    for (const codec of ['H264', 'MP4A-LATM', 'telephone-event', '', 'X-UNKNOWN']) {
      assert.equal(describeDecoder({ codec }), undefined, codec);
      assert.equal(await createTrackDecoder({ codec }), undefined, codec);
    }
    assert.equal(describeDecoder({ codec: 'L16', clockRateHz: 0 }), undefined);
    assert.equal(describeDecoder({ codec: 'L16', clockRateHz: 8000, channels: 0 }), undefined);
  });

  it('creates working decoders of each kind', async () => {
    const g711 = await createTrackDecoder({ codec: 'PCMU' });
    assert.equal(g711?.kind, 'byte-table');
    const l16 = await createTrackDecoder({ codec: 'L16', clockRateHz: 8000 });
    assert.ok(l16?.kind === 'packet');
    assert.deepEqual(await l16.decode([Uint8Array.from([0, 1, 0xff, 0xff])]), [Int16Array.from([1, -1])]);
    l16.close();
    const opus = await createTrackDecoder({ codec: 'OPUS' });
    assert.ok(opus?.kind === 'packet');
    // A damaged packet (code 1 with an even length) is counted and decodes to nothing.
    const [broken] = await opus.decode([Uint8Array.from([0x79, 1, 2, 3])]);
    assert.equal(broken?.length, 0);
    assert.equal(opus.undecodable, 1);
    opus.close();
    opus.close();
  });
});

describe('opusPacketSamples', () => {
  it('reads the duration from the TOC byte (RFC 6716 §3.1)', () => {
    // Config 1 (SILK NB 20 ms), code 0.
    assert.equal(opusPacketSamples(Uint8Array.from([1 << 3, 0xaa])), 960);
    // Config 15 (hybrid FB 20 ms), code 1: two frames of equal size.
    assert.equal(opusPacketSamples(Uint8Array.from([(15 << 3) | 1, 1, 2])), 1920);
    // Config 16 (CELT NB 2.5 ms), code 3 with 6 frames.
    assert.equal(opusPacketSamples(Uint8Array.from([(16 << 3) | 3, 6, 0, 0])), 720);
    // Config 3 (SILK NB 60 ms), code 2.
    assert.equal(opusPacketSamples(Uint8Array.from([(3 << 3) | 2, 1, 9])), 5760);
  });

  it('rejects packets that break the framing rules', () => {
    assert.equal(opusPacketSamples(new Uint8Array(0)), undefined);
    assert.equal(opusPacketSamples(Uint8Array.from([(1 << 3) | 1, 1])), undefined);
    assert.equal(opusPacketSamples(Uint8Array.from([(1 << 3) | 2])), undefined);
    assert.equal(opusPacketSamples(Uint8Array.from([(1 << 3) | 3])), undefined);
    assert.equal(opusPacketSamples(Uint8Array.from([(1 << 3) | 3, 0])), undefined);
    // 3 frames of 60 ms = 180 ms > 120 ms (R5).
    assert.equal(opusPacketSamples(Uint8Array.from([(3 << 3) | 3, 3])), undefined);
  });
});
