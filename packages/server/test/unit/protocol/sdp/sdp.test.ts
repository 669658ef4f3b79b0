import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildRecorderAnswer,
  buildRecorderOffer,
  chooseAudioCodec,
  parseSdp,
  type SdpMedia,
  type SessionDescription,
} from '../../../../src/protocol/sdp/sdp.js';
import { isUndecodableCodec } from '../../../../src/protocol/codec/codec-support.js';

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

/** An SDP body from 10.0.0.1 with the given media-level lines, CRLF-terminated. */
function sdpFrom10001(lines: readonly string[]): string {
  return ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', ...lines, ''].join('\r\n');
}

function parsedSdp(text: string): SessionDescription {
  const result = parseSdp(text);
  assert.ok(result.ok);
  return result.value;
}

function firstMedia(text: string): SdpMedia {
  const [media] = parsedSdp(text).media;
  assert.ok(media);
  return media;
}

describe('parseSdp', () => {
  it('reads the codec, direction and media source of a CUCM ACK answer', () => {
    const media = firstMedia(CUCM_ACK_SDP);
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

  it('keeps the raw a=crypto values of a line (SDES, RFC 4568)', () => {
    const media = firstMedia(
      sdpFrom10001([
        'm=audio 4000 RTP/SAVP 0',
        'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4',
        'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj',
      ]),
    );
    assert.deepEqual(media.crypto, [
      '1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4',
      '2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj',
    ]);
  });
  it('fills static payload types that have no rtpmap (RFC 3551)', () => {
    const media = firstMedia(sdpFrom10001(['m=audio 4000 RTP/AVP 8 18']));
    assert.deepEqual(
      media.codecs.map((c) => c.encodingName),
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

describe('parseSdp on fields sdp-transform reads as numbers (issue 9)', () => {
  it('does not throw on `m=fuzz 2000 1 IN IP4 127.0.0.1` and keeps the protocol as text', () => {
    const media = firstMedia(sdpFrom10001(['m=fuzz 2000 1 IN IP4 127.0.0.1']));
    assert.equal(media.type, 'fuzz');
    assert.equal(media.protocol, '1');
    assert.deepEqual(media.codecs, []);
  });

  it('keeps numeric type, codec name, fmtp, label, address and crypto fields as the text written', () => {
    const media = firstMedia(
      sdpFrom10001([
        'm=5 2000 RTP/AVP 0',
        'c=IN IP4 5',
        'a=rtpmap:0 123/',
        'a=fmtp:0 15',
        'a=label:7',
        'a=crypto:1 2 3 4',
      ]),
    );
    assert.equal(media.type, '5');
    assert.deepEqual(media.codecs, [{ payloadType: 0, encodingName: '123', clockRateHz: 8000, fmtp: '15' }]);
    assert.equal(media.connectionAddress, '5');
    assert.equal(media.label, '7');
    assert.deepEqual(media.crypto, ['1 2 3 4']);
  });
});

describe('chooseAudioCodec', () => {
  const line = (rtpmaps: string[], payloads: string): SdpMedia =>
    firstMedia(sdpFrom10001([`m=audio 4000 RTP/AVP ${payloads}`, ...rtpmaps]));

  it('takes the first decodable format in the sender order (Metaswitch offers 18 0 8 on a fork)', () => {
    assert.equal(chooseAudioCodec(line([], '18 0 8'))?.encodingName, 'G729');
    assert.equal(
      chooseAudioCodec(line(['a=rtpmap:96 AMR-WB/16000', 'a=rtpmap:9 G722/8000'], '96 9'))?.encodingName,
      'G722',
    );
  });

  it('records a format it cannot decode rather than refuse the call', () => {
    const codec = chooseAudioCodec(line(['a=rtpmap:97 iLBC/8000'], '97'));
    assert.ok(codec);
    assert.equal(codec.encodingName, 'ILBC');
    assert.ok(isUndecodableCodec(codec.encodingName, codec.clockRateHz));
  });

  it('finds nothing to record on a line of telephone-event and comfort noise alone', () => {
    assert.equal(chooseAudioCodec(line(['a=rtpmap:101 telephone-event/8000'], '101 13')), undefined);
  });

  it('decodes Opus only at 48 kHz and L16 at any rate', () => {
    assert.equal(isUndecodableCodec('OPUS', 48000), false);
    assert.equal(isUndecodableCodec('OPUS', 16000), true);
    assert.equal(isUndecodableCodec('L16', 44100), false);
    assert.equal(isUndecodableCodec('MP4A-LATM', 90000), true);
    assert.equal(isUndecodableCodec('', 8000), false);
  });
});

describe('recorder SDP', () => {
  it('offers G.711, G.722, G.729 and telephone-event recvonly on the given port (delayed offer)', () => {
    const offer = buildRecorderOffer({ sessionId: 'abc', sessionVersion: 1, address: '192.0.2.10' }, 40000);
    const media = firstMedia(offer);
    assert.equal(media.port, 40000);
    assert.equal(media.direction, 'recvonly');
    assert.equal(media.connectionAddress, '192.0.2.10');
    assert.deepEqual(
      media.codecs.map((c) => c.encodingName),
      ['PCMU', 'PCMA', 'G722', 'G729', 'TELEPHONE-EVENT'],
    );
  });

  it('echoes the chosen format with its channels and fmtp (Opus needs both)', () => {
    const offer = parsedSdp(
      sdpFrom10001([
        'm=audio 5000 RTP/AVP 111 101',
        'a=rtpmap:111 opus/48000/2',
        'a=fmtp:111 minptime=10;useinbandfec=1',
        'a=rtpmap:101 telephone-event/48000',
        'a=sendonly',
      ]),
    );
    const text = buildRecorderAnswer(
      { sessionId: 's', sessionVersion: 2, address: '192.0.2.10' },
      offer,
      new Map([[0, 41000]]),
    );
    assert.match(text, /a=rtpmap:111 OPUS\/48000\/2\r\n/);
    assert.match(text, /a=fmtp:111 minptime=10;useinbandfec=1\r\n/);
  });

  it('answers an early offer recvonly with the offered payload type kept, refusing unrecordable lines', () => {
    const offer = parsedSdp(
      sdpFrom10001([
        'm=audio 5000 RTP/AVP 8 101',
        'a=rtpmap:8 PCMA/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=ptime:20',
        'a=sendonly',
        'm=video 5002 RTP/AVP 97',
        'a=rtpmap:97 H264/90000',
      ]),
    );
    const answer = parsedSdp(
      buildRecorderAnswer(
        { sessionId: 's', sessionVersion: 2, address: '192.0.2.10' },
        offer,
        new Map([[0, 41000]]),
      ),
    );
    const [audio, video] = answer.media;
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
