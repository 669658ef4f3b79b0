import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeMetadata } from '../../../../src/protocol/siprec/metadata-merge.js';
import {
  MAX_METADATA_BYTES,
  parseRecordingMetadata,
  sendersByLabel,
  SiprecErrorCode,
  type RecordingMetadata,
} from '../../../../src/protocol/siprec/rs-metadata.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

function metadata(xml: string): RecordingMetadata {
  return expectOk(parseRecordingMetadata(xml));
}

function senderRefs(doc: RecordingMetadata): Record<string, (string | undefined)[]> {
  return Object.fromEntries(
    [...sendersByLabel(doc)].map(([label, people]) => [label, people.map((p) => p.deviceRef)]),
  );
}

const NS = 'urn:ietf:params:xml:ns:recording:1';

/** An RFC 7865 document with participantstreamassoc; `extra` goes before </recording>. */
function rfcDocument(extra = '', dataMode = 'complete'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="${NS}">
  <datamode>${dataMode}</datamode>
  <session session_id="S1"><sipSessionID>abc;remote=def</sipSessionID></session>
  <participant participant_id="P1"><nameID aor="sip:+15550100@example.com;user=phone"><name xml:lang="en">Ann</name></nameID></participant>
  <participant participant_id="P2"><nameID aor="sip:2001@pbx.example.com"/></participant>
  <stream stream_id="T1" session_id="S1"><label>96</label></stream>
  <stream stream_id="T2" session_id="S1"><label>97</label></stream>
  <participantstreamassoc participant_id="P1"><send>T1</send><recv>T2</recv></participantstreamassoc>
  <participantstreamassoc participant_id="P2"><send>T2</send><recv>T1</recv></participantstreamassoc>
  ${extra}
</recording>`;
}

describe('parseRecordingMetadata', () => {
  it('reads an RFC 7865 document', () => {
    const doc = metadata(rfcDocument());
    assert.equal(doc.dataMode, 'complete');
    assert.equal(doc.sessionId, 'S1');
    assert.deepEqual(doc.sipSessionIds, ['abc;remote=def']);
    assert.equal(doc.streamMapping, 'associations');
    assert.deepEqual(
      doc.participants.map((p) => [p.id, p.aor, p.name, p.deviceRef, p.sends, p.receives, p.placeholder]),
      [
        ['P1', 'sip:+15550100@example.com;user=phone', 'Ann', '+15550100', ['T1'], ['T2'], false],
        ['P2', 'sip:2001@pbx.example.com', undefined, '2001', ['T2'], ['T1'], false],
      ],
    );
    assert.deepEqual(doc.streams, [
      { id: 'T1', label: '96' },
      { id: 'T2', label: '97' },
    ]);
    assert.deepEqual(senderRefs(doc), { '96': ['+15550100'], '97': ['2001'] });
  });

  it('reads the id scheme of Oracle and BroadWorks (id, session, group attributes)', () => {
    const doc = metadata(`<recording xmlns='urn:ietf:params:xml:ns:recording'>
      <group id="G9"/><session id="S9" group="G9"/>
      <participant id="P9" session="S9"><aor>sip:9@h</aor><name>Nine</name><send>T9</send></participant>
      <stream id="T9" session="S9"><label>5</label><mode>separate</mode></stream></recording>`);
    assert.equal(doc.sessionId, 'S9');
    assert.equal(doc.groupId, 'G9');
    assert.deepEqual(doc.participants[0]?.sends, ['T9']);
    assert.equal(doc.participants[0].name, 'Nine');
    assert.deepEqual(doc.streams, [{ id: 'T9', label: '5', mode: 'separate' }]);
    assert.deepEqual(senderRefs(doc), { '5': ['9'] });
  });

  it('takes the group from <group-ref> when there is no <group>', () => {
    assert.equal(
      metadata(`<recording><session session_id="s"><group-ref>G1</group-ref></session></recording>`).groupId,
      'G1',
    );
  });

  it('normalises names: blank or empty is none, quotes removed, parameters kept', () => {
    const doc = metadata(`<recording>
      <participant participant_id="a"><nameID aor="sip:1@h"><name xml:lang="en"> </name></nameID></participant>
      <participant participant_id="b"><nameID aor="sip:2@h"><name/></nameID></participant>
      <participant participant_id="c"><nameID aor="sip:3@h"><name>"WIRELESS CALLER"</name></nameID></participant>
      <participant participant_id="d"><nameID aor="sip:4@h"><name>test_user;lang=en-US;id=22</name></nameID></participant>
      <participant participant_id="e"><nameID aor="sip:5@h"><name>Zoë &amp; Co</name></nameID></participant>
    </recording>`);
    assert.deepEqual(
      doc.participants.map((p) => p.name),
      [undefined, undefined, 'WIRELESS CALLER', 'test_user;lang=en-US;id=22', 'Zoë & Co'],
    );
  });

  it('marks placeholders: no AOR, the Avaya SBCE dummy, participants known only from associations', () => {
    const doc = metadata(`<recording>
      <participant participant_id="a"/>
      <participant participant_id="b"><nameID aor="sip:ASBCE@asbce.com"/></participant>
      <participant participant_id="c"><nameID aor="sip:3@h"/></participant>
      <participantsessionassoc participant_id="z" session_id="s"><disassociate-time>t</disassociate-time></participantsessionassoc>
    </recording>`);
    assert.deepEqual(
      doc.participants.map((p) => [p.id, p.placeholder, p.deviceRef]),
      [
        ['a', true, undefined],
        ['b', true, undefined],
        ['c', false, '3'],
        ['z', true, undefined],
      ],
    );
    assert.equal(doc.participants[3]?.disassociateTime, 't');
  });

  it('falls back to document order only when the document has no association at all', () => {
    const none = metadata(`<recording>
      <participant participant_id="a"><nameID aor="sip:ASBCE@asbce.com"/></participant>
      <participant participant_id="b"><nameID aor="sip:1@h"/></participant>
      <participant participant_id="c"><nameID aor="sip:2@h"/></participant>
      <stream stream_id="x"><label>1</label></stream><stream stream_id="y"><label>2</label></stream>
      <stream stream_id="z"><label>3</label></stream><stream stream_id="w"/></recording>`);
    assert.equal(none.streamMapping, 'document-order');
    assert.deepEqual(senderRefs(none), { '1': ['1'], '2': ['2'], '3': [] });
    const empty = metadata(`<recording>
      <participant participant_id="b"><nameID aor="sip:1@h"/></participant>
      <stream stream_id="x"><label>1</label></stream>
      <participantstreamassoc participant_id="b"></participantstreamassoc></recording>`);
    assert.equal(empty.streamMapping, 'associations');
    assert.deepEqual(senderRefs(empty), { '1': [] });
  });

  it('never maps a stream with an empty id (Avaya SBCE stream_id="")', () => {
    const doc = metadata(`<recording>
      <participant participant_id="b"><nameID aor="sip:1@h"/></participant>
      <participantstreamassoc participant_id="b"><send></send></participantstreamassoc>
      <stream stream_id=""><label>20</label></stream></recording>`);
    assert.deepEqual(doc.participants[0]?.sends, []);
    assert.deepEqual(senderRefs(doc), { '20': [] });
  });

  it('keeps vendor extension values from anywhere and never fails on them', () => {
    const doc = metadata(
      rfcDocument(`<extensiondata><vendor><deep><ucid>00FA;encoding=hex</ucid></deep></vendor></extensiondata>
      <foo:Things xmlns:foo="urn:x"><foo:Parameter name="Role" value="inbound"/><foo:header label="Call-ID"><foo:value>c1@h</foo:value></foo:header></foo:Things>
      <ac:AvayaUCID xmlns="urn:ietf:params:xml:ns:Avaya">FA08</ac:AvayaUCID>
      <empty/><blank>  </blank><ucid>second value is ignored</ucid>`),
    );
    assert.deepEqual(doc.correlation, {
      ucid: '00FA;encoding=hex',
      Role: 'inbound',
      'Call-ID': 'c1@h',
      AvayaUCID: 'FA08',
    });
  });

  it('bounds the number and length of extension values', () => {
    const many = Array.from({ length: 200 }, (_, i) => `<x${i}>v${i}</x${i}>`).join('');
    const doc = metadata(
      `<recording><extensiondata>${many}<long>${'y'.repeat(5000)}</long></extensiondata></recording>`,
    );
    assert.equal(Object.keys(doc.correlation).length, 64);
    assert.equal(doc.correlation.long, undefined);
  });

  it('rejects a "__proto__" element with a typed error and pollutes no prototype', () => {
    // The library refuses such names; an SRC has no reason to send them.
    expectErr(
      parseRecordingMetadata(
        '<recording><extensiondata><__proto__><polluted>x</polluted></__proto__></extensiondata></recording>',
      ),
      SiprecErrorCode.MetadataSyntax,
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    expectErr(
      parseRecordingMetadata('<recording><constructor>y</constructor></recording>'),
      SiprecErrorCode.MetadataSyntax,
    );
    // Other Object.prototype names are renamed by the library and stay plain values.
    const doc = metadata(
      '<recording><extensiondata><toString>z</toString><hasOwnProperty>w</hasOwnProperty></extensiondata></recording>',
    );
    assert.deepEqual(Object.values(doc.correlation).sort(), ['w', 'z']);
    assert.equal(Object.getPrototypeOf(doc.correlation), Object.prototype);
    assert.equal(typeof doc.correlation.toString, 'function');
  });

  it('accepts a root in any namespace or prefix, a BOM and surrounding blanks', () => {
    assert.equal(
      metadata(
        '\uFEFF  \n<r:recording xmlns:r="urn:ietf:params:xml:ns:recording"><r:datamode>partial</r:datamode></r:recording>\n ',
      ).dataMode,
      'partial',
    );
    assert.equal(
      metadata(
        '<recording_metadata xmlns="urn:ietf:params:xml:ns:siprec"><dataMode>complete</dataMode></recording_metadata>',
      ).dataMode,
      'complete',
    );
  });

  it('quotes an unquoted attribute rather than reject the document (Oracle ESBC doc)', () => {
    const doc =
      metadata(`<recording><session session_id="s"><extensiondata xmlns:apkt="http://acmepacket.com/siprec/extensiondata">
      <apkt:header label=P-Asserted-Identity><value>sip:1@h</value></apkt:header></extensiondata></session></recording>`);
    assert.equal(doc.correlation['P-Asserted-Identity'], 'sip:1@h');
  });
});

describe('parseRecordingMetadata on hostile or broken input', () => {
  const cases: [string, string, string][] = [
    ['not XML at all', 'completeurn:uuid:03dd5b5d sip:kculs9klre@host', SiprecErrorCode.MetadataSyntax],
    ['an empty document', '', SiprecErrorCode.MetadataSyntax],
    [
      'truncated inside an element',
      '<recording><session session_id="x"><start-time>2019',
      SiprecErrorCode.MetadataSyntax,
    ],
    [
      'truncated before the root closes',
      '<recording><session session_id="x"></session>',
      SiprecErrorCode.MetadataSyntax,
    ],
    ['mismatched tags', '<recording><session></sessio></recording>', SiprecErrorCode.MetadataSyntax],
    ['two roots', '<recording></recording><recording></recording>', SiprecErrorCode.MetadataSyntax],
    ['binary garbage', '\u0000\u0001\u00ff<<>>&&\u0007', SiprecErrorCode.MetadataSyntax],
    ['the wrong root', '<html><body>hi</body></html>', SiprecErrorCode.MetadataRoot],
    ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE recording><recording/>', SiprecErrorCode.MetadataDoctype],
    [
      'an entity expansion bomb',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><recording>&lol2;</recording>`,
      SiprecErrorCode.MetadataDoctype,
    ],
    [
      'an external entity',
      '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><recording>&x;</recording>',
      SiprecErrorCode.MetadataDoctype,
    ],
    ['an ENTITY without DOCTYPE', '<recording><!ENTITY x "y"></recording>', SiprecErrorCode.MetadataDoctype],
    [
      'a document over the size cap',
      `<recording>${' '.repeat(MAX_METADATA_BYTES)}</recording>`,
      SiprecErrorCode.MetadataTooLarge,
    ],
    [
      'nesting deeper than metadata ever goes',
      `<recording>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</recording>`,
      SiprecErrorCode.MetadataSyntax,
    ],
  ];
  for (const [what, xml, code] of cases) {
    it(`gives ${code} for ${what}, without throwing`, () => {
      expectErr(parseRecordingMetadata(xml), code);
    });
  }

  it('parses a large but legal document (200 participants) within the size cap', () => {
    const people = Array.from(
      { length: 200 },
      (_, i) => `<participant participant_id="p${i}"><nameID aor="sip:${1000 + i}@h"/></participant>`,
    ).join('');
    const doc = metadata(`<recording>${people}</recording>`);
    assert.equal(doc.participants.length, 200);
  });
});

describe('mergeMetadata', () => {
  it('replaces the current snapshot with a complete document', () => {
    const first = metadata(rfcDocument());
    const second = metadata(`<recording><datamode>complete</datamode><session session_id="S2"/></recording>`);
    assert.deepEqual(mergeMetadata(first, second), second);
    // No datamode at all counts as complete (RFC 7865 §6.1 makes complete the normal case).
    const bare = metadata('<recording><session session_id="S3"/></recording>');
    assert.equal(mergeMetadata(first, bare).sessionId, 'S3');
  });

  it('applies a partial update: new participant and stream, a changed name, a disassociation', () => {
    const current = metadata(rfcDocument());
    const update = metadata(
      `<recording xmlns="${NS}"><datamode>partial</datamode>
        <participant participant_id="P3"><nameID aor="sip:3003@pbx.example.com"><name>Transfer Target</name></nameID></participant>
        <participant participant_id="P1"><nameID aor="sip:+15550100@example.com;user=phone"><name>Ann B.</name></nameID></participant>
        <stream stream_id="T3"><label>98</label></stream>
        <participantsessionassoc participant_id="P2" session_id="S1"><disassociate-time>2026-01-01T00:00:09Z</disassociate-time></participantsessionassoc>
        <participantstreamassoc participant_id="P3"><send>T3</send></participantstreamassoc>
        <extensiondata><ucid>U1</ucid></extensiondata>
      </recording>`,
    );
    const merged = mergeMetadata(current, update);
    assert.equal(merged.sessionId, 'S1');
    assert.equal(merged.dataMode, 'complete');
    assert.deepEqual(
      merged.participants.map((p) => [p.id, p.name, p.deviceRef, p.sends, p.disassociateTime, p.placeholder]),
      [
        ['P1', 'Ann B.', '+15550100', ['T1'], undefined, false],
        ['P2', undefined, '2001', ['T2'], '2026-01-01T00:00:09Z', false],
        ['P3', 'Transfer Target', '3003', ['T3'], undefined, false],
      ],
    );
    assert.deepEqual(
      merged.streams.map((s) => s.label),
      ['96', '97', '98'],
    );
    assert.deepEqual(senderRefs(merged), { '96': ['+15550100'], '97': ['2001'], '98': ['3003'] });
    assert.equal(merged.correlation.ucid, 'U1');
    assert.deepEqual(merged.sipSessionIds, ['abc;remote=def']);
  });

  it('updates a stream known only by its label (Avaya SBCE stream_id="" then a real id)', () => {
    const current = metadata('<recording><stream stream_id=""><label>20</label></stream></recording>');
    const update = metadata(
      '<recording><datamode>partial</datamode><stream stream_id=""><label>20</label><mode>separate</mode></stream></recording>',
    );
    assert.deepEqual(mergeMetadata(current, update).streams, [{ id: '', label: '20', mode: 'separate' }]);
  });
});

describe('parseRecordingMetadata on documents built to be slow (issue 9)', () => {
  it('merges 5,000 elements of one participant into one, keeping every stream in order', () => {
    // Each repeat used to scan the participant's whole stream list: 2 s for this document.
    let participants = '';
    for (let i = 0; i < 5000; i++) {
      participants += `<participant id="a"><send>${i}</send></participant>`;
    }
    const metadata = expectOk(parseRecordingMetadata(`<recording>${participants}</recording>`));
    assert.equal(metadata.participants.length, 1);
    assert.deepEqual(
      metadata.participants[0]?.sends,
      Array.from({ length: 5000 }, (_, i) => String(i)),
    );
  });
});
