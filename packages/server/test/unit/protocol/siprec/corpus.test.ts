import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../../../../src/protocol/sdp/sdp.js';
import { sendersByLabel, type MetadataParticipant } from '../../../../src/protocol/siprec/rs-metadata.js';
import { readSiprecBody, type SiprecBody } from '../../../../src/protocol/siprec/siprec-body.js';
import { EXPECTED_FIXTURES, type ExpectedFixture } from '../../../fixtures/siprec/expected.js';
import { contentTypeOf, siprecFixture, siprecFixtureNames } from '../../../support/siprec-fixtures.js';

/**
 * The vendor corpus (intake-samples §5): every fixture goes through the project's SIP parser and
 * readSiprecBody, and what a recorder must extract is compared with expected.ts.
 */

function readBody(expected: ExpectedFixture, lineEnding: 'crlf' | 'lf' = 'crlf'): SiprecBody | undefined {
  const request = siprecFixture(expected.file, { lineEnding });
  assert.equal(request.method, expected.method);
  const body = readSiprecBody(contentTypeOf(request), request.body);
  assert.ok(body.ok, body.ok ? '' : `${body.error.code}: ${body.error.message}`);
  return body.value;
}

describe('SIPREC fixture corpus', () => {
  it('has an expectation for every fixture file and a file for every expectation', () => {
    const files = siprecFixtureNames();
    assert.deepEqual(
      [...EXPECTED_FIXTURES.map((e) => e.file)].sort(),
      files,
      'fixtures/siprec/*.sip and expected.ts disagree',
    );
    assert.ok(files.length >= 19);
    const initialInvites = EXPECTED_FIXTURES.filter(
      (e) => e.method === 'INVITE' && e.siprec && !/re-?invite/i.test(e.file),
    );
    assert.ok(initialInvites.length >= 10, `only ${initialInvites.length} initial INVITEs`);
  });

  for (const expected of EXPECTED_FIXTURES) {
    describe(`${expected.file} (${expected.vendor})`, () => {
      it('parses with CRLF and with bare LF line ends and gives the same SIPREC body', () => {
        const crlf = readBody(expected, 'crlf');
        const lf = readBody(expected, 'lf');
        assert.equal(crlf === undefined, !expected.siprec);
        // Bare LF changes the SDP text's line ends only; the metadata read must not change.
        assert.deepEqual(lf?.metadata, crlf?.metadata);
      });

      if (!expected.siprec) {
        return;
      }

      it('has the expected SDP and m-line labels', () => {
        const body = readBody(expected);
        assert.ok(body !== undefined);
        if (expected.noSdp === true) {
          assert.equal(body.sdp, undefined);
          return;
        }
        assert.ok(body.sdp !== undefined, 'SDP part missing');
        const sdp = parseSdp(body.sdp);
        assert.ok(sdp.ok, sdp.ok ? '' : sdp.error.message);
        // Labels are trimmed here: Twilio-style lines end with a blank (quirk 28), which the SDP
        // parser keeps in the label today.
        const labels = sdp.value.media.map((m) => (m.label === undefined ? null : m.label.trim()));
        assert.deepEqual(labels, expected.sdpLabels);
        const metadataLabels = new Set(body.metadata?.streams.map((s) => s.label));
        for (const label of labels) {
          if (label !== null) {
            assert.ok(metadataLabels.has(label), `a=label:${label} has no metadata stream`);
          }
        }
        if (expected.otherParts !== undefined) {
          assert.equal(body.otherParts, expected.otherParts);
        }
      });

      it('extracts session, participants, senders and correlation ids', () => {
        const body = readBody(expected);
        const metadata = body?.metadata;
        assert.ok(metadata !== undefined, 'no metadata');
        assert.ok(body?.metadataXml?.includes('<') === true);
        if (expected.dataMode !== undefined) {
          assert.equal(metadata.dataMode, expected.dataMode);
        }
        if (expected.sessionId !== undefined) {
          assert.equal(metadata.sessionId, expected.sessionId);
        }
        if (expected.groupId !== undefined) {
          assert.equal(metadata.groupId, expected.groupId);
        }
        if (expected.sipSessionIds !== undefined) {
          assert.deepEqual(metadata.sipSessionIds, expected.sipSessionIds);
        }
        if (expected.streamMapping !== undefined) {
          assert.equal(metadata.streamMapping, expected.streamMapping);
        }
        if (expected.participants !== undefined) {
          assert.equal(metadata.participants.length, expected.participants.length);
          for (const [index, want] of expected.participants.entries()) {
            const got: MetadataParticipant | undefined = metadata.participants[index];
            assert.ok(got !== undefined);
            for (const [field, value] of Object.entries(want)) {
              assert.deepEqual(
                got[field as keyof MetadataParticipant],
                value,
                `participant ${index} ${field}`,
              );
            }
          }
        }
        if (expected.senders !== undefined) {
          const senders = Object.fromEntries(
            [...sendersByLabel(metadata)].map(([label, people]) => [label, people.map((p) => p.deviceRef)]),
          );
          assert.deepEqual(senders, expected.senders);
        }
        for (const [name, value] of Object.entries(expected.correlation ?? {})) {
          assert.equal(metadata.correlation[name], value, `correlation ${name}`);
        }
      });
    });
  }
});
