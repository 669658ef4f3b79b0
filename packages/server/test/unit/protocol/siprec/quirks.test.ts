import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '../../../../src/protocol/result.js';
import { isHoldAddress, parseSdp, type SdpMedia } from '../../../../src/protocol/sdp/sdp.js';
import { getHeader, getHeaders, type SipRequest } from '../../../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import { parseNameAddr, parseSipUri } from '../../../../src/protocol/sip/uri.js';
import { SipErrorCode } from '../../../../src/protocol/sip/errors.js';
import {
  mergeMetadata,
  parseRecordingMetadata,
  sendersByLabel,
  SiprecErrorCode,
  type RecordingMetadata,
} from '../../../../src/protocol/siprec/rs-metadata.js';
import { readSiprecBody, type SiprecBody } from '../../../../src/protocol/siprec/siprec-body.js';
import { encodeUtf8 } from '../../../../src/protocol/text.js';
import { readCucmLeg } from '../../../../src/recording/cucm-leg.js';
import { cubeFixture } from '../../../support/cube-fixtures.js';
import { contentTypeOf, siprecFixture, siprecFixtureBytes } from '../../../support/siprec-fixtures.js';

/**
 * One test per quirk of intake-samples §6. Quirks about SIP parsing and CUCM From parameters
 * exercise the existing parsers (protocol/sip, recording/cucm-leg.ts); quirks whose behaviour
 * belongs to the recording service (hold handling, answering bodies on BYE) are tested here for
 * the parsing part only.
 */

function body(file: string): SiprecBody {
  const request = siprecFixture(file);
  const result = readSiprecBody(contentTypeOf(request), request.body);
  assert.ok(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`);
  assert.ok(result.value !== undefined, `${file} is not recognised as SIPREC`);
  return result.value;
}

function meta(file: string): RecordingMetadata {
  const metadata = body(file).metadata;
  assert.ok(metadata !== undefined);
  return metadata;
}

function media(file: string): readonly SdpMedia[] {
  const sdp = body(file).sdp;
  assert.ok(sdp !== undefined, `${file} has no SDP`);
  const parsed = parseSdp(sdp);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return parsed.value.media;
}

function senders(metadata: RecordingMetadata): Record<string, (string | undefined)[]> {
  return Object.fromEntries(
    [...sendersByLabel(metadata)].map(([label, people]) => [label, people.map((p) => p.deviceRef)]),
  );
}

function sip(text: string): Result<SipRequest> {
  const parsed = parseSipMessage(encodeUtf8(text.split('\n').join('\r\n')));
  if (!parsed.ok) {
    return parsed;
  }
  assert.equal(parsed.value.type, 'request');
  return parsed as Result<SipRequest>;
}

function cucmFixture(name: string): SipRequest {
  const path = join(import.meta.dirname, '../../../fixtures/sip/cucm', name);
  const parsed = parseSipMessage(new Uint8Array(readFileSync(path)));
  assert.ok(parsed.ok && parsed.value.type === 'request');
  return parsed.value;
}

function fromParams(from: string): ReadonlyMap<string, string | null> {
  const nameAddr = parseNameAddr(from);
  assert.ok(nameAddr.ok, nameAddr.ok ? '' : nameAddr.error.message);
  return nameAddr.value.uri.params;
}

const HEADERS = [
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-q1',
  'From: <sip:src@192.0.2.1>;tag=q1',
  'To: <sip:srs@192.0.2.2>',
  'Call-ID: quirk-1@192.0.2.1',
];

describe('intake-samples §6 quirks', () => {
  it('quirk 1: the three metadata namespaces are matched by local name', () => {
    assert.equal(meta('cube-siprec-invite.sip').sessionId, 'HWa34c9av1/JqgdPy1A1CA=='); // recording:1
    assert.equal(meta('oracle-sbc-invite-early.sip').sessionId, 'OePgvnm1MLnAO8RKzsU2Og=='); // recording
    assert.equal(
      meta('broadworks-webex-invite.sip').sessionId,
      'urn:uuid:43d29cad-99ee-4f3a-9375-70b41c82724e',
    ); // siprec
    const other = parseRecordingMetadata(
      '<recording xmlns="urn:example:not-siprec"><datamode>complete</datamode></recording>',
    );
    assert.ok(other.ok && other.value.dataMode === 'complete');
  });

  it('quirk 2: namespace prefixes are stripped (Ribbon tns: with callData in its own default namespace)', () => {
    const ribbon = meta('ribbon-sbc-invite.sip');
    assert.equal(ribbon.dataMode, 'complete');
    assert.equal(ribbon.participants.length, 2);
    assert.equal(ribbon.correlation.gcid, '318820557');
  });

  it('quirk 3: both id-attribute schemes, and Metaswitch mixing them', () => {
    assert.equal(meta('cube-siprec-invite.sip').participants[0]?.id, 'IVleqWBJYooHV7Ki3GP9JQ==');
    const oracle = meta('oracle-sbc-invite-early.sip');
    assert.equal(oracle.participants[0]?.id, 'YH5h0u9EqHJqGIUIeyMLIg==');
    assert.equal(oracle.streams[0]?.id, '+0++EoQod2Ep2f1ClKXSwg==');
    const metaswitch = meta('metaswitch-cfs-invite.sip');
    assert.equal(metaswitch.streams[0]?.id, 'OuE3RjcrlkdCuatJnZcMgg==');
    assert.equal(metaswitch.sessionId, 's/VdYTa0+vT1YDlR49Z4WA==');
  });

  it('quirk 4: four stream-to-participant mapping styles', () => {
    assert.deepEqual(senders(meta('cube-siprec-invite.sip')), { '1': ['4085550142'], '2': ['6502'] });
    assert.deepEqual(senders(meta('oracle-sbc-reinvite-answered.sip')), {
      '553700301': ['+442075550199'],
      '553700302': ['4123'],
    });
    assert.deepEqual(senders(meta('broadworks-webex-invite.sip')), { '1': ['p7x2kq4mzt'], '2': ['8478'] });
    const none = meta('opensips-2-invite.sip');
    assert.equal(none.streamMapping, 'document-order');
    assert.deepEqual(senders(none), { '1': ['0861550144'], '2': ['0871550192'] });
  });

  it('quirk 5: empty and degenerate associations', () => {
    assert.deepEqual(senders(meta('cube-siprec-reinvite-hold.sip')), { '1': [], '2': [] });
    const avaya = meta('avaya-sbce-invite.sip');
    assert.deepEqual(avaya.streams[1], { id: '', label: '20' });
    assert.deepEqual(senders(avaya), { '10': ['13035550117'], '20': [] });
    const intrado = meta('intrado-viper-invite.sip').participants[0];
    assert.deepEqual([intrado?.sends, intrado?.receives], [['U3RyZWFtLTkxMS0x'], ['U3RyZWFtLTkxMS0x']]);
    assert.deepEqual(senders(meta('metaswitch-cfs-invite.sip')), { '1': ['5105550187', '9255550122'] });
  });

  it('quirk 6: labels are opaque strings and label 1 is not the caller', () => {
    assert.deepEqual(
      meta('avaya-sbce-invite.sip').streams.map((s) => s.label),
      ['10', '20'],
    );
    assert.deepEqual(
      meta('oracle-sbc-reinvite-answered.sip').streams.map((s) => s.label),
      ['553700301', '553700302'],
    );
    assert.deepEqual(
      meta('sems-invite.sip').streams.map((s) => s.label),
      ['a_leg', 'b_leg'],
    );
    assert.deepEqual(
      meta('twilio-style-invite.sip').streams.map((s) => s.label),
      ['inbound', 'outbound'],
    );
    assert.equal(meta('freeswitch-invite.sip').streams[0]?.label, undefined);
    assert.equal(media('freeswitch-invite.sip')[0]?.label, undefined);
    // Ribbon's caller (fromhdr, first participant) sends label 2.
    assert.deepEqual(senders(meta('ribbon-sbc-invite.sip'))['2'], ['6175550148']);
  });

  it('quirk 7: the SDP direction attribute may be absent, inactive, doubled or anywhere', () => {
    assert.equal(media('metaswitch-cfs-invite.sip')[0]?.direction, 'sendrecv'); // absent: RFC 4566 default
    assert.deepEqual(
      media('cube-siprec-reinvite-hold.sip').map((m) => m.direction),
      ['inactive', 'inactive'],
    );
    assert.deepEqual(
      media('sems-invite.sip').map((m) => m.direction),
      ['sendonly', 'sendonly'],
    ); // a=direction:both too
    assert.deepEqual(
      media('avaya-sbce-invite.sip').map((m) => [m.label, m.direction]),
      [['10', 'sendonly']],
    );
  });

  it('quirk 8: hold and pause encodings are readable (the service decides what they mean)', () => {
    // a=inactive per m-line (CUBE).
    assert.ok(media('cube-siprec-reinvite-hold.sip').every((m) => m.direction === 'inactive'));
    // c=0.0.0.0 without a direction (BroadWorks pause): an SDP-only re-INVITE, not a SIPREC body.
    const pause = siprecFixture('broadworks-reinvite-pause.sip');
    assert.deepEqual(readSiprecBody(contentTypeOf(pause), pause.body), { ok: true, value: undefined });
    const paused = parseSdp(new TextDecoder().decode(pause.body));
    assert.ok(paused.ok);
    assert.ok(
      paused.value.media.every((m) => isHoldAddress(m.connectionAddress) && m.direction === 'sendrecv'),
    );
    // Held party only: one m-line inactive, the other still sendonly.
    const onePartyHeld = body('cube-siprec-invite.sip').sdp?.replace(
      'a=sendonly\r\na=label:1',
      'a=inactive\r\na=label:1',
    );
    const parsed = parseSdp(onePartyHeld ?? '');
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.media.map((m) => m.direction),
      ['inactive', 'sendonly'],
    );
  });

  it('quirk 9: metadata Content-Type variants and the recording-session disposition', () => {
    assert.ok(meta('sems-invite.sip').participants.length === 2); // application/rs-metadata
    assert.ok(meta('broadworks-webex-invite.sip').participants.length === 2); // "Content-Type:application/..."
    const mangled = encodeUtf8(
      '--B\r\nContent-Type:application/ +xml\r\nContent-Disposition:recording-session\r\n\r\n<recording><session session_id="m"/></recording>\r\n--B--',
    );
    const result = readSiprecBody('multipart/mixed;boundary=B', mangled);
    assert.ok(result.ok && result.value?.metadata?.sessionId === 'm');
  });

  it('quirk 10: multipart layouts', () => {
    assert.ok(body('broadworks-webex-invite.sip').sdp?.startsWith('v=0')); // metadata part first
    assert.equal(body('cube-siprec-invite.sip').otherParts, 1); // application/gtd third part
    assert.equal(meta('sems-invite.sip').streams.length, 2); // no closing delimiter
    assert.equal(meta('ribbon-sbc-invite.sip').streams.length, 2); // no closing delimiter
    assert.ok(body('oracle-sbc-invite-early.sip').metadataXml?.trimEnd().endsWith('</recording>')); // "--b-- "
    assert.equal(meta('metaswitch-cfs-invite.sip').streams.length, 1); // "; boundary="
    assert.equal(meta('twilio-style-invite.sip').streams.length, 2); // boundary="----=_Part_..."
    assert.ok(body('oracle-sbc-invite-early.sip').sdp !== undefined); // SDP part without Content-Disposition
    assert.equal(
      contentTypeOf(siprecFixture('metaswitch-cfs-invite.sip')),
      'multipart/mixed; boundary=metaswitch-boundary',
    );
  });

  it('quirk 11: SIPREC is recognised by the body whatever the SIP-level markers say', () => {
    const broadworks = siprecFixture('broadworks-webex-invite.sip');
    assert.equal(getHeader(broadworks, 'Require'), undefined);
    assert.ok(body('broadworks-webex-invite.sip').metadata !== undefined);
    const avaya = siprecFixture('avaya-sbce-invite.sip');
    const contact = parseNameAddr(getHeader(avaya, 'Contact') ?? '');
    assert.ok(contact.ok && contact.value.uri.params.has('+sip.src')); // inside the URI
    const audiocodes = parseNameAddr(getHeader(siprecFixture('audiocodes-sbc-invite.sip'), 'Contact') ?? '');
    assert.ok(audiocodes.ok && audiocodes.value.params.has('src'));
    assert.ok(!(getHeader(siprecFixture('opensips-2-invite.sip'), 'Contact') ?? '').includes('sip.src'));
    assert.deepEqual(getHeaders(siprecFixture('intrado-viper-invite.sip'), 'Supported'), ['siprec']);
    // CUBE dial-peer forking has none of the markers and is not SIPREC.
    const nbr = cubeFixture('cube-nbr-invite.sip');
    assert.deepEqual(readSiprecBody(contentTypeOf(nbr), nbr.body), { ok: true, value: undefined });
  });

  it('quirk 12: a delayed-offer CUCM INVITE has no body; the ACK carries one sendonly codec', () => {
    const invite = cucmFixture('cucm10-bib-invite-nearend.txt');
    assert.equal(invite.body.length, 0);
    assert.deepEqual(readSiprecBody(getHeader(invite, 'Content-Type') ?? '', invite.body), {
      ok: true,
      value: undefined,
    });
    const ack = parseSipMessage(
      new Uint8Array(
        readFileSync(join(import.meta.dirname, '../../../fixtures/sip/cucm/cucm10-bib-ack.txt')),
      ),
    );
    assert.ok(ack.ok);
    const answer = parseSdp(new TextDecoder().decode(ack.value.body));
    assert.ok(answer.ok);
    assert.deepEqual(
      answer.value.media.map((m) => [m.direction, m.codecs[0]?.encodingName]),
      [['sendonly', 'PCMU']],
    );
  });

  it('quirk 13: From is only a hint; participants come from the metadata', () => {
    for (const file of [
      'opensips-2-invite.sip',
      'ribbon-sbc-invite.sip',
      'intrado-viper-invite.sip',
      'cube-siprec-invite.sip',
    ]) {
      const from = parseNameAddr(getHeader(siprecFixture(file), 'From') ?? '');
      assert.ok(from.ok);
      const refs = meta(file).participants.map((p) => p.deviceRef);
      assert.ok(
        !refs.includes(from.value.uri.user),
        `${file}: From user ${String(from.value.uri.user)} taken as a participant`,
      );
    }
  });

  it('quirk 14: CUCM From URI parameters (case, trunk/IP devices, E.164, blanks after ";", valueless flag)', () => {
    const leg = readCucmLeg(
      fromParams(
        '<sip:+15550100@ucm1;x-farend;x-refci=81;x-nearenddevice=SEP6C416A369525; x-farendrefci=80;x-farenddevice=10.1.20.11;x-farendaddr=+15550199>;tag=t',
      ),
    );
    assert.equal(leg?.stream, 'far');
    assert.equal(leg.nearEnd.device, 'SEP6C416A369525');
    assert.equal(leg.farEnd.refCi, '80');
    assert.equal(leg.farEnd.device, '10.1.20.11');
    assert.equal(leg.farEnd.address, '+15550199');
    const lower = readCucmLeg(
      fromParams('<sip:1@h;x-nearend;x-refci=1;x-nearenddevice=sep001795bdd16b;x-farenddevice=LCP_47483708>'),
    );
    assert.equal(lower?.nearEnd.device, 'sep001795bdd16b');
    assert.equal(lower.farEnd.device, 'LCP_47483708');
  });

  it('quirk 15: the From URI changes mid-dialog (CUCM UPDATE) and metadata is re-read', () => {
    const before = readCucmLeg(
      fromParams('<sip:2000@ucm1;x-nearend;x-refci=ci2;x-farendrefci=ci1;x-farendaddr=3000>;tag=fromtag1'),
    );
    const after = readCucmLeg(
      fromParams('<sip:2000@ucm1;x-nearend;x-refci=ci2;x-farendrefci=ci1;x-farendaddr=3100>;tag=fromtag1'),
    );
    assert.deepEqual([before?.farEnd.address, after?.farEnd.address], ['3000', '3100']);
    const merged = mergeMetadata(
      meta('oracle-sbc-invite-early.sip'),
      meta('oracle-sbc-reinvite-answered.sip'),
    );
    assert.deepEqual(senders(merged)['553700302'], ['4123']);
  });

  it('quirk 16: AOR formats give a device reference, the dummy gives none', () => {
    assert.equal(meta('ribbon-sbc-invite.sip').participants[0]?.deviceRef, '6175550148'); // user@host
    assert.equal(meta('intrado-viper-invite.sip').participants[0]?.deviceRef, '4055550198'); // user@host:port
    assert.equal(meta('metaswitch-cfs-invite.sip').participants[0]?.deviceRef, '5105550187'); // bare number
    assert.equal(meta('twilio-style-invite.sip').participants[0]?.deviceRef, 'C1A94E27'); // opaque token
    assert.equal(meta('broadworks-webex-invite.sip').participants[0]?.deviceRef, 'p7x2kq4mzt'); // Webex user-id
    assert.equal(meta('broadworks-webex-invite.sip').participants[1]?.deviceRef, '8478'); // ;user=phone
    const dummy = meta('avaya-sbce-invite.sip').participants[1];
    assert.deepEqual([dummy?.placeholder, dummy?.deviceRef], [true, undefined]);
    assert.equal(meta('cube-siprec-bye.sip').participants[1]?.deviceRef, '6502'); // "sip: 6502 @..."
  });

  it('quirk 17: names missing, blank, quoted, with parameters, with xml:lang', () => {
    const ribbon = meta('ribbon-sbc-invite.sip').participants;
    assert.equal(ribbon[0]?.name, 'Dana Whitfield'); // blank nameID name, taken from fromhdr
    assert.equal(ribbon[1]?.name, undefined); // blank, and tohdr has no display name
    assert.equal(meta('intrado-viper-invite.sip').participants[0]?.name, 'WIRELESS CALLER');
    assert.equal(meta('opensips-3-invite.sip').participants[0]?.name, 'Olga Petrova'); // quoted
    assert.equal(meta('opensips-2-invite.sip').participants[0]?.name, 'agent_kelly;lang=en-IE;id=31');
    assert.equal(meta('cube-siprec-invite.sip').participants[1]?.name, 'Front Desk'); // xml:lang="en"
    assert.equal(meta('twilio-style-invite.sip').participants[0]?.name, undefined); // missing
  });

  it('quirk 18: timestamps are kept exactly as the SRC wrote them', () => {
    assert.equal(meta('oracle-sbc-invite-early.sip').participants[0]?.associateTime, '2026-02-17T08:03:11');
    assert.equal(meta('cube-siprec-invite.sip').participants[0]?.associateTime, '2026-03-11T10:14:02.418Z');
    assert.equal(
      meta('twilio-style-invite.sip').participants[0]?.associateTime,
      '2026-03-15T18:40:12.345871Z',
    );
    assert.equal(meta('opensips-3-invite.sip').participants[0]?.associateTime, '2026-03-14T18:33:38+0300');
    assert.equal(meta('ribbon-sbc-invite.sip').participants[0]?.associateTime, '1970-01-03T07:12:44Z');
    const intrado = parseRecordingMetadata(
      '<recording><participant participant_id="p"><nameID aor="1@h"/><associate-time>2026-03-13T15:02:44-06:00</associate-time></participant></recording>',
    );
    assert.ok(intrado.ok && intrado.value.participants[0]?.associateTime === '2026-03-13T15:02:44-06:00');
  });

  it('quirk 19: ids of every shape are kept verbatim', () => {
    assert.equal(meta('ribbon-sbc-invite.sip').sessionId, 'MzE4ODIwNTU3LXNlc3Npb24tMQ=='); // base64 of text
    assert.equal(meta('avaya-sbce-invite.sip').sessionId, '00FA080018A2C90665F1B3'); // hex UCID
    assert.equal(meta('avaya-sbce-invite.sip').participants[0]?.id, 'a268ac67a73254dc961b'); // 20 hex
    assert.ok(meta('broadworks-webex-invite.sip').participants[0]?.id.startsWith('urn:uuid:'));
    assert.equal(meta('metaswitch-cfs-invite.sip').participants[0]?.id, '+v/3gPpCkqY6t7/4zsIvEA=='); // + and /
  });

  it('quirk 20: the Session-ID header and <sipSessionID> are different identifiers', () => {
    const cube = siprecFixture('cube-siprec-invite.sip');
    const header = getHeader(cube, 'Session-ID') ?? '';
    const inXml = meta('cube-siprec-invite.sip').sipSessionIds[0] ?? '';
    assert.notEqual(header.split(';')[0], inXml.split(';')[0]);
    // OpenSIPS puts the recorded call's Call-ID there.
    assert.deepEqual(meta('opensips-2-invite.sip').sipSessionIds, [
      '6a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d@198.51.100.125',
    ]);
  });

  it('quirk 21: extension data of every shape is kept and never fatal', () => {
    assert.equal(meta('oracle-sbc-invite-early.sip').correlation.ucid, '00FA08200A41C2E3B4D5F6;encoding=hex'); // "http:/" namespace
    assert.equal(meta('metaswitch-cfs-invite.sip').correlation.recordedParty, '+15105550187'); // no namespace
    assert.equal(meta('audiocodes-sbc-invite.sip').correlation.AvayaUCID, 'FA0800A2001C3E5B7D19'); // undeclared ac:
    assert.equal(meta('twilio-style-invite.sip').correlation.CallerDisplayName, 'Nadia Okafor'); // ExtensionParameters
    assert.equal(meta('intrado-viper-invite.sip').participants[0]?.extensions.role, 'calling'); // inside participant
    assert.equal(meta('ribbon-sbc-invite.sip').correlation.callid, '7e1c2b3a-4d5e-11f0-9a8b-0c1d2e3f4a5b'); // callData
    const unquoted = parseRecordingMetadata(
      '<recording><session session_id="s"><extensiondata><apkt:header label=P-Asserted-Identity><value>sip:1@h</value></apkt:header></extensiondata></session></recording>',
    );
    assert.ok(unquoted.ok && unquoted.value.sessionId === 's');
  });

  it('quirk 22: any element order, attributes split across lines, self-closing nameID', () => {
    assert.deepEqual(
      meta('cube-siprec-invite.sip').streams.map((s) => s.label),
      ['1', '2'],
    ); // interleaved
    const sems = meta('sems-invite.sip');
    assert.equal(sems.participants.length, 2); // the split participantsessionassoc added no stub
    assert.equal(meta('opensips-2-invite.sip').participants[1]?.aor, 'sip:0871550192@voice.example.org');
  });

  it('quirk 23: metadata arrives by re-INVITE, metadata-only UPDATE and BYE', () => {
    const update = siprecFixture('avaya-sbce-update.sip');
    assert.equal(update.method, 'UPDATE');
    const replaced = mergeMetadata(meta('avaya-sbce-invite.sip'), meta('avaya-sbce-update.sip'));
    assert.deepEqual(senders(replaced), { '10': ['13035550117'], '20': ['7205550164'] });
    assert.ok(replaced.participants.every((p) => !p.placeholder));
    // CUBE BYE: a single-part metadata body.
    assert.equal(meta('cube-siprec-bye.sip').participants[0]?.disassociateTime, '2026-03-11T10:21:17.049Z');
    // Twilio-style BYE: multipart, partial; merged it marks both participants gone, keeping their AORs.
    const ended = mergeMetadata(meta('twilio-style-invite.sip'), meta('twilio-style-bye.sip'));
    assert.deepEqual(
      ended.participants.map((p) => [p.deviceRef, p.disassociateTime]),
      [
        ['C1A94E27', '2026-03-15T18:44:11.902310Z'],
        ['418822', '2026-03-15T18:44:11.902310Z'],
      ],
    );
  });

  it('quirk 24: a partial first offer is expanded by the next one', () => {
    const early = meta('oracle-sbc-invite-early.sip');
    assert.equal(early.streams.length, 1);
    assert.deepEqual(senders(early), { '553700301': ['+442075550199'] });
    const answered = mergeMetadata(early, meta('oracle-sbc-reinvite-answered.sip'));
    assert.equal(answered.streams.length, 2);
    assert.equal(
      meta('oracle-sbc-reinvite-answered.sip').participants[0]?.associateTime,
      '2026-02-17T08:03:11',
    );
  });

  it('quirk 25: one, two or four streams per dialog, video included', () => {
    assert.equal(media('intrado-viper-invite.sip').length, 1);
    assert.equal(media('cube-siprec-invite.sip').length, 2);
    const sdp = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0']
      .concat(
        ...[96, 97, 98, 99].map((label, i) => [
          `m=${i % 2 === 0 ? 'audio' : 'video'} ${i === 3 ? 0 : 4000 + i * 2} RTP/AVP ${i % 2 === 0 ? 0 : 99}`,
          ...(i % 2 === 0 ? [] : ['a=rtpmap:99 H264/90000']),
          'a=sendonly',
          `a=label:${label}`,
        ]),
      )
      .join('\r\n');
    const xml = '<recording><stream stream_id="a"><label>96</label></stream></recording>';
    const result = readSiprecBody(
      'multipart/mixed;boundary=x',
      encodeUtf8(
        `--x\r\nContent-Type: application/sdp\r\n\r\n${sdp}\r\n--x\r\nContent-Type: application/rs-metadata\r\n\r\n${xml}\r\n--x--`,
      ),
    );
    assert.ok(result.ok && result.value?.sdp !== undefined);
    const parsed = parseSdp(result.value.sdp);
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.media.map((m) => [m.type, m.port, m.label]),
      [
        ['audio', 4000, '96'],
        ['video', 4002, '97'],
        ['audio', 4004, '98'],
        ['video', 0, '99'],
      ],
    );
  });

  it('quirk 26: SDP oddities parse', () => {
    assert.equal(media('opensips-2-invite.sip')[0]?.connectionAddress, undefined); // no c= line
    assert.deepEqual(
      media('oracle-sbc-invite-early.sip')[0]?.codecs.map((c) => c.encodingName),
      ['PCMA', 'TELEPHONE-EVENT'],
    ); // PT 8 without rtpmap
    assert.equal(media('opensips-3-invite.sip').length, 2); // ICE and rtcp-xr lines
    assert.equal(media('ribbon-sbc-invite.sip')[0]?.connectionAddress, '198.51.100.61'); // s=SIP Media Capabilities
    assert.equal(media('oracle-sbc-reinvite-answered.sip').length, 2); // a=maxptime:150
    assert.deepEqual(
      media('metaswitch-cfs-invite.sip')[0]?.codecs.map((c) => c.encodingName),
      ['G729', 'PCMU', 'PCMA'],
    );
    assert.equal(media('broadworks-webex-invite.sip')[0]?.codecs[0]?.encodingName, 'OPUS');
  });

  it('quirk 27: SRTP offers (RTP/SAVP with a=crypto) are carried through', () => {
    const sdp = body('twilio-style-invite.sip').sdp ?? '';
    assert.deepEqual(
      media('twilio-style-invite.sip').map((m) => m.protocol),
      ['RTP/SAVP', 'RTP/SAVP'],
    );
    assert.equal(sdp.match(/a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/g)?.length, 2);
  });

  it('quirk 28: header formatting oddities', () => {
    const cucm = cucmFixture('cucm10-bib-invite-nearend.txt');
    assert.equal(getHeader(cucm, 'Min-SE'), '1800'); // "Min-SE:  1800"
    assert.ok(getHeaders(cucm, 'Call-Info')[0]?.startsWith(';method=')); // Call-Info without a URI
    assert.ok(siprecFixture('ribbon-sbc-invite.sip').body.length > 0); // "Content-Length:  N"
    assert.ok(getHeaders(siprecFixture('audiocodes-sbc-invite.sip'), 'Allow').includes('SUBSCRIBE')); // folded Allow
    assert.equal(getHeader(siprecFixture('intrado-viper-invite.sip'), 'Call-Info'), '(null)');
    const twilio = siprecFixture('twilio-style-invite.sip');
    assert.equal(getHeader(twilio, 'Min-SE'), '35'); // below RFC 4028's 90: accepted as sent
    assert.equal(getHeader(twilio, 'Call-ID'), '9c3e1a7f5b2d4e6a8c0e2f4a6b8d0f1e'); // trailing blank trimmed
    assert.equal(getHeader(siprecFixture('metaswitch-cfs-invite.sip'), 'CSeq'), '804517733 INVITE');
    // A blank after SIP/2.0 on the request line is rejected (RFC 4475 §3.1.2.10 trws).
    const trailing = sip(
      `INVITE sip:srs@192.0.2.2 SIP/2.0 \n${HEADERS.join('\n')}\nCSeq: 1 INVITE\nContent-Length: 0\n\n`,
    );
    assert.equal(trailing.ok ? undefined : trailing.error.code, SipErrorCode.StartLine);
    // A BYE whose CSeq method reads INVITE (BroadWorks replay typo) is refused.
    const bye = sip(
      `BYE sip:srs@192.0.2.2 SIP/2.0\n${HEADERS.join('\n')}\nCSeq: 2 INVITE\nContent-Length: 0\n\n`,
    );
    assert.equal(bye.ok ? undefined : bye.error.code, SipErrorCode.CSeq);
  });

  it('quirk 29: a Request-URI without a user part, and Request-URI/To users that differ', () => {
    for (const file of ['avaya-sbce-invite.sip', 'opensips-2-invite.sip', 'intrado-viper-invite.sip']) {
      const uri = parseSipUri(siprecFixture(file).requestUri);
      assert.ok(uri.ok && uri.value.user === undefined, file);
    }
    const metaswitch = siprecFixture('metaswitch-cfs-invite.sip');
    const requestUser = parseSipUri(metaswitch.requestUri);
    assert.ok(requestUser.ok && requestUser.value.user === '5105550100');
  });

  it('quirk 30: damaged bodies give a typed error; fixtures are labelled by what they contain', () => {
    const stripped = encodeUtf8(
      '--UniqueBroadWorksBoundary\r\nContent-Type:application/ +xml\r\nContent-Disposition:recording-session\r\n\r\n' +
        'completeurn:uuid:03dd5b5d-6217-425a-ab0d-d04261388c36SRCselectiveurn:uuid:31da9b20\r\n--UniqueBroadWorksBoundary--',
    );
    const result = readSiprecBody('multipart/mixed;boundary=UniqueBroadWorksBoundary', stripped);
    assert.equal(result.ok ? 'ok' : result.error.code, SiprecErrorCode.MetadataSyntax);
    const text = (file: string): string => new TextDecoder().decode(siprecFixtureBytes(file));
    assert.match(text('cube-siprec-invite.sip'), /User-Agent: Cisco-SIPGateway/);
    assert.match(text('ribbon-sbc-invite.sip'), /o=Sonus_UAC/);
    assert.match(text('oracle-sbc-invite-early.sip'), /acmepacket\.com\/siprec/);
    assert.match(text('avaya-sbce-invite.sip'), /sip:ASBCE@asbce\.com/);
    assert.match(text('broadworks-webex-invite.sip'), /urn:ietf:params:xml:ns:siprec/);
    assert.match(text('audiocodes-sbc-invite.sip'), /o=AudioCodesGW/);
    assert.match(text('metaswitch-cfs-invite.sip'), /Organization: Metaswitch Networks/);
    assert.match(text('intrado-viper-invite.sip'), /User-Agent: VIPER/);
    assert.match(text('freeswitch-invite.sip'), /User-Agent: FreeSWITCH/);
  });
});
