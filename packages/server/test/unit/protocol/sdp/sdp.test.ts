import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildRecorderAnswer,
  buildRecorderOffer,
  chooseAudioCodec,
  parseSdp,
} from '../../../../src/protocol/sdp/sdp.js';

// CUCM's answer in the ACK (intake-samples §1.2): one codec, sendonly, the phone as media source.
const CUCM_ACK_SDP = [
  'v=0',
  'o=CiscoSystemsCCM-SIP 104961 1 IN IP4 10.48.38.5',
  's=SIP Call',
  'c=IN IP4 10.48.38.107',
  'b=TIAS:64000',
  'b=AS:64',
  't=0 0',
  'm=audio 17904 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=sendonly',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  '',
].join('\r\n');

describe('parseSdp', () => {
  it('reads the codec, direction and media source of a CUCM ACK answer', () => {
    const result = parseSdp(CUCM_ACK_SDP);
    assert.ok(result.ok);
    const [media] = result.value.media;
    assert.ok(media);
    assert.equal(media.port, 17904);
    assert.equal(media.direction, 'sendonly');
    assert.equal(media.connectionAddress, '10.48.38.107');
    assert.deepEqual(
      media.codecs.map((c) => [c.payloadType, c.encodingName, c.clockRateHz]),
      [
        [0, 'PCMU', 8000],
        [101, 'TELEPHONE-EVENT', 8000],
      ],
    );
    assert.equal(chooseAudioCodec(media)?.encodingName, 'PCMU');
  });

  it('fills static payload types that have no rtpmap (RFC 3551)', () => {
    const result = parseSdp(
      'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 18\r\n',
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.value.media[0]?.codecs.map((c) => c.encodingName),
      ['PCMA', 'G729'],
    );
  });

  it('rejects a body that is not SDP with a typed error', () => {
    const result = parseSdp('hello world');
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'VERBATIM_ERR_SDP_VERSION');
  });

  it('never throws on random text', () => {
    for (let i = 0; i < 300; i++) {
      const text =
        'v=0\r\n' +
        Array.from({ length: 80 }, () => String.fromCharCode(32 + Math.floor(Math.random() * 95))).join('');
      const result = parseSdp(text.replace(/;/g, '\r\n'));
      assert.equal(typeof result.ok, 'boolean');
    }
  });
});

describe('recorder SDP', () => {
  it('offers G.711 and telephone-event recvonly on the given port (delayed offer)', () => {
    const offer = buildRecorderOffer({ sessionId: 'abc', sessionVersion: 1, address: '192.0.2.10' }, 40000);
    const parsed = parseSdp(offer);
    assert.ok(parsed.ok);
    const [media] = parsed.value.media;
    assert.ok(media);
    assert.equal(media.port, 40000);
    assert.equal(media.direction, 'recvonly');
    assert.equal(media.connectionAddress, '192.0.2.10');
    assert.deepEqual(
      media.codecs.map((c) => c.encodingName),
      ['PCMU', 'PCMA', 'TELEPHONE-EVENT'],
    );
  });

  it('answers an early offer recvonly with the offered payload type kept, refusing unrecordable lines', () => {
    const offer = parseSdp(
      [
        'v=0',
        'o=- 1 1 IN IP4 10.0.0.1',
        's=-',
        'c=IN IP4 10.0.0.1',
        't=0 0',
        'm=audio 5000 RTP/AVP 8 101',
        'a=rtpmap:8 PCMA/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=ptime:20',
        'a=sendonly',
        'm=video 5002 RTP/AVP 97',
        'a=rtpmap:97 H264/90000',
        '',
      ].join('\r\n'),
    );
    assert.ok(offer.ok);
    const answer = parseSdp(
      buildRecorderAnswer(
        { sessionId: 's', sessionVersion: 2, address: '192.0.2.10' },
        offer.value,
        new Map([[0, 41000]]),
      ),
    );
    assert.ok(answer.ok);
    const [audio, video] = answer.value.media;
    assert.ok(audio && video);
    assert.equal(audio.port, 41000);
    assert.equal(audio.direction, 'recvonly');
    assert.deepEqual(
      audio.codecs.map((c) => c.payloadType),
      [8, 101],
    );
    assert.equal(audio.ptimeMs, 20);
    assert.equal(video.port, 0);
  });
});
