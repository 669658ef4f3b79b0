import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentHeader, downloadFileName } from '../../../src/api/download-names.js';
import { sampleSession } from '../../support/fake-repository.js';

const START = Date.UTC(2026, 11, 3, 17, 20, 5, 789);

void describe('downloadFileName', () => {
  void it('names the start (UTC, no colons), the numbers in track order and the session id', () => {
    const session = sampleSession({ sessionId: '5a13177450e571', sessionStartDate: START });
    const numbers = session.tracks.map((t) => t.participants[0]?.deviceRef).join('_');
    assert.equal(downloadFileName(session, '.wav'), `2026-12-03_17-20-05Z_${numbers}_5a13177450e571.wav`);
    assert.equal(
      downloadFileName(session, '-TRACK1.pcap'),
      `2026-12-03_17-20-05Z_${numbers}_5a13177450e571-TRACK1.pcap`,
    );
  });

  void it('keeps E.164 and star codes, replaces anything a file system or header trips on, and lists a number once', () => {
    const base = sampleSession({ sessionId: 'id/../x"y', sessionStartDate: START });
    const [first, second] = base.tracks;
    assert.ok(first !== undefined && second !== undefined);
    const session = {
      ...base,
      tracks: [
        { ...first, participants: [{ ...first.participants[0]!, deviceRef: '+33 1 "23"\r\n' }] },
        {
          ...second,
          participants: [
            { ...second.participants[0]!, deviceRef: '*67#' },
            { ...second.participants[0]!, deviceRef: '*67#' },
            { ...second.participants[0]!, deviceRef: 'x'.repeat(100) },
          ],
        },
      ],
    };
    const name = downloadFileName(session, '.wav');
    assert.equal(name, `2026-12-03_17-20-05Z_+33_1__23____*67#_${'x'.repeat(32)}_id_.._x_y.wav`);
    assert.match(attachmentHeader(name), /^attachment; filename="[^"\\\r\n]+"$/);
  });

  void it('lists at most four numbers', () => {
    const base = sampleSession({ sessionId: 'conf', sessionStartDate: START });
    const [first] = base.tracks;
    assert.ok(first !== undefined);
    const participants = ['1', '2', '3', '4', '5', '6'].map((deviceRef) => ({
      ...first.participants[0]!,
      deviceRef,
    }));
    const name = downloadFileName({ ...base, tracks: [{ ...first, participants }] }, '.wav');
    assert.equal(name, '2026-12-03_17-20-05Z_1_2_3_4_conf.wav');
  });
});
