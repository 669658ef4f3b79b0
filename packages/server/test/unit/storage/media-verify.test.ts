import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyTrack, isCacheOrTemporary, type Observed } from '../../../src/storage/media-verify.js';

const DIGEST = { sha256: 'a'.repeat(64), bytes: 1000, digestedAt: 1 };
const read = (
  bytes: number,
  sha256: string,
  extra: Partial<Extract<Observed, { kind: 'read' }>> = {},
): Observed => ({
  kind: 'read',
  bytes,
  sha256,
  tornBytes: 0,
  ...extra,
});

void describe('classifyTrack', () => {
  void it('a file of the stored length and SHA-256 is intact', () => {
    assert.equal(classifyTrack(DIGEST, read(1000, 'a'.repeat(64))).kind, 'ok');
  });

  void it('no file is missing, whether or not a digest was stored', () => {
    assert.equal(classifyTrack(DIGEST, { kind: 'absent' }).kind, 'missing');
    assert.equal(classifyTrack(undefined, { kind: 'absent' }).kind, 'missing');
  });

  void it('a file shorter than when it was digested is truncated, with both lengths', () => {
    const verdict = classifyTrack(DIGEST, read(600, 'b'.repeat(64)));
    assert.equal(verdict.kind, 'truncated');
    assert.equal(verdict.detail, '600 of 1000 bytes');
  });

  void it('the same length with another SHA-256, or a longer file, is altered', () => {
    assert.equal(classifyTrack(DIGEST, read(1000, 'b'.repeat(64))).kind, 'altered');
    assert.equal(classifyTrack(DIGEST, read(1200, 'a'.repeat(64))).kind, 'altered');
  });

  void it('a digested file that matches is intact even if its last pcap record is cut', () => {
    // The recorder digested it so (a write failed mid-record): it is as it was finished.
    assert.equal(classifyTrack(DIGEST, read(1000, 'a'.repeat(64), { tornBytes: 12 })).kind, 'ok');
  });

  void it('without a digest: a cut last record is truncated, a non-pcap altered, else not digested', () => {
    assert.equal(classifyTrack(undefined, read(900, 'c'.repeat(64), { tornBytes: 30 })).kind, 'truncated');
    assert.equal(
      classifyTrack(undefined, read(40, 'c'.repeat(64), { malformed: 'bad magic' })).kind,
      'altered',
    );
    assert.equal(classifyTrack(undefined, read(900, 'c'.repeat(64))).kind, 'not-digested');
  });

  void it('an I/O or permission error is unreadable, with its code', () => {
    const verdict = classifyTrack(DIGEST, { kind: 'unreadable', code: 'EACCES' });
    assert.equal(verdict.kind, 'unreadable');
    assert.match(verdict.detail, /EACCES/);
  });
});

void describe('isCacheOrTemporary', () => {
  void it('spares the MP4 cache and temporary files, not recordings or strays', () => {
    assert.equal(isCacheOrTemporary('5a13177450e571.0123456789abcdef.mp4'), true);
    assert.equal(isCacheOrTemporary('.5a13177450e571.0123456789abcdef.mp4.1a2b3c4d.partial'), true);
    assert.equal(isCacheOrTemporary('track0.pcap'), false);
    assert.equal(isCacheOrTemporary('holiday.mp4'), false);
    assert.equal(isCacheOrTemporary('notes.txt'), false);
  });
});
