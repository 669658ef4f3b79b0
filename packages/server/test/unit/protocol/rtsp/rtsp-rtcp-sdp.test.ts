import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeSdp } from '../../../../src/protocol/rtsp/describe.js';
import { rtcpSenderReport, rtcpSenderReportAndBye } from '../../../../src/protocol/rtsp/rtcp.js';

void describe('RTCP sender reports', () => {
  const fields = {
    ssrc: 0x11223344,
    wallClockMs: 1_700_000_000_500,
    rtpTimestamp: 0xdeadbeef,
    packetCount: 50,
    octetCount: 8000,
    cname: 'abc',
  };

  void it('writes SR then SDES CNAME, with the NTP time of the wall clock', () => {
    const out = rtcpSenderReport(fields);
    const view = new DataView(out.buffer);
    assert.equal(out.length, 28 + 16);
    assert.deepEqual([out[0], out[1], view.getUint16(2)], [0x80, 200, 6]);
    assert.equal(view.getUint32(4), 0x11223344);
    assert.equal(view.getUint32(8), 1_700_000_000 + 2208988800);
    assert.equal(view.getUint32(12), 0x80000000, 'half a second is half of 2^32');
    assert.equal(view.getUint32(16), 0xdeadbeef);
    assert.deepEqual([view.getUint32(20), view.getUint32(24)], [50, 8000]);
    // SDES: V=2 SC=1, PT 202, length 3 words after the first, CNAME item "abc", null terminator.
    assert.deepEqual(
      [...out.subarray(28)],
      [0x81, 202, 0, 3, 0x11, 0x22, 0x33, 0x44, 1, 3, 97, 98, 99, 0, 0, 0],
    );
  });

  void it('ends a compound packet with BYE for the same SSRC', () => {
    const out = rtcpSenderReportAndBye(fields);
    assert.deepEqual([...out.subarray(out.length - 8)], [0x81, 203, 0, 1, 0x11, 0x22, 0x33, 0x44]);
  });
});

void describe('DESCRIBE SDP', () => {
  void it('has one media section per track in its codec, a control URL each, and the range', () => {
    const sdp = describeSdp({
      originId: '123',
      address: '192.0.2.10',
      name: 'Verbatim session x',
      control: 'rtsp://192.0.2.10:8554/archive/x?token=t',
      durationS: 12.3456,
      tracks: [
        {
          media: 'audio',
          payloadType: 0,
          encoding: 'PCMU',
          clockRateHz: 8000,
          control: 'rtsp://h/archive/x/trackID=0',
        },
        {
          media: 'video',
          payloadType: 97,
          encoding: 'H264',
          clockRateHz: 90000,
          fmtp: 'packetization-mode=1',
          control: 'rtsp://h/archive/x/trackID=1\r\nm=evil',
        },
      ],
    });
    assert.equal(
      sdp,
      [
        'v=0',
        'o=- 123 1 IN IP4 192.0.2.10',
        's=Verbatim session x',
        'c=IN IP4 0.0.0.0',
        't=0 0',
        'a=tool:Verbatim',
        'a=range:npt=0-12.346',
        'a=control:rtsp://192.0.2.10:8554/archive/x?token=t',
        'm=audio 0 RTP/AVP 0',
        'a=rtpmap:0 PCMU/8000',
        'a=control:rtsp://h/archive/x/trackID=0',
        'm=video 0 RTP/AVP 97',
        'a=rtpmap:97 H264/90000',
        'a=fmtp:97 packetization-mode=1',
        'a=control:rtsp://h/archive/x/trackID=1m=evil',
        '',
      ].join('\r\n'),
    );
  });
});
