import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { StreamStatistics } from '../../../src/media/stream-stats.js';

const T0_US = 1_700_000_000_000_000;
const SSRC = 0x11223344;

/** Feeds packets 20 ms apart (160 samples at 8 kHz), in the given sequence order. */
function feed(stats: StreamStatistics, seqs: readonly number[], ssrc = SSRC, firstSeq = seqs[0] ?? 0): void {
  seqs.forEach((seq, index) => {
    const sinceFirst = (seq - firstSeq + 0x10000) % 0x10000;
    stats.onPacket(ssrc, seq, (1000 + sinceFirst * 160) >>> 0, 160, T0_US + index * 20_000);
  });
}

void describe('StreamStatistics', () => {
  void it('counts packets and payload bytes, no loss in order', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [1, 2, 3, 4, 5]);
    const s = stats.snapshot();
    assert.equal(s.packets, 5);
    assert.equal(s.bytes, 800);
    assert.equal(s.lost, 0);
    assert.equal(s.duplicated, 0);
    assert.equal(s.reordered, 0);
    assert.equal(s.jitterMs, 0);
    assert.equal(s.firstPacketAt, T0_US / 1000);
    assert.equal(s.lastPacketAt, T0_US / 1000 + 80);
  });

  void it('has no packet times before the first packet', () => {
    const s = new StreamStatistics(8000).snapshot();
    assert.equal('firstPacketAt' in s, false);
    assert.equal('lastPacketAt' in s, false);
  });

  void it('counts a gap as lost (expected − received)', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [10, 11, 13, 14, 17]);
    assert.equal(stats.snapshot().lost, 3);
  });

  void it('counts a duplicate once as duplicated and never as negative loss', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [1, 2, 2, 3, 3, 3]);
    const s = stats.snapshot();
    assert.equal(s.packets, 6);
    assert.equal(s.duplicated, 3);
    assert.equal(s.lost, 0);
  });

  void it('counts a late packet as reordered and fills the gap it left', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [1, 3, 2, 4]);
    const s = stats.snapshot();
    assert.equal(s.reordered, 1);
    assert.equal(s.lost, 0);
    assert.equal(s.duplicated, 0);
  });

  void it('detects a duplicate of a late packet', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [1, 3, 2, 2]);
    const s = stats.snapshot();
    assert.equal(s.reordered, 1);
    assert.equal(s.duplicated, 1);
  });

  void it('extends the range backwards when the very first packet was late', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [5, 4, 6]);
    const s = stats.snapshot();
    assert.equal(s.reordered, 1);
    assert.equal(s.lost, 0);
  });

  void it('follows the sequence number across the 16-bit wrap', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [65533, 65534, 65535, 0, 1]);
    assert.equal(stats.snapshot().lost, 0);
    const gap = new StreamStatistics(8000);
    feed(gap, [65534, 65535, 1, 2]);
    assert.equal(gap.snapshot().lost, 1);
  });

  void it('starts a new sequence space on an SSRC change, keeping earlier losses', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [100, 101, 103]);
    feed(stats, [40000, 40001, 40002], 0x55667788);
    const s = stats.snapshot();
    assert.equal(s.packets, 6);
    assert.equal(s.lost, 1);
  });

  void it('treats a large jump confirmed by the next packet as a restart, not as loss (RFC 3550 A.1)', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [1, 2, 3]);
    stats.onPacket(SSRC, 20000, 5000, 160, T0_US + 100_000);
    stats.onPacket(SSRC, 20001, 5160, 160, T0_US + 120_000);
    stats.onPacket(SSRC, 20003, 5480, 160, T0_US + 160_000);
    const s = stats.snapshot();
    assert.equal(s.packets, 6);
    assert.equal(s.lost, 1);
  });

  void it('counts dropped datagrams', () => {
    const stats = new StreamStatistics(8000);
    stats.onDropped();
    stats.onDropped();
    assert.equal(stats.snapshot().dropped, 2);
    assert.equal(stats.snapshot().packets, 0);
  });

  void it('keeps the kernel drop count as it grows, what was unread at close, and counts every datagram read', () => {
    const stats = new StreamStatistics(8000);
    assert.equal(stats.snapshot().kernelDropped, 0);
    assert.equal(stats.snapshot().unreadAtClose, 0);
    stats.setKernelDropped(7);
    stats.setKernelDropped(3); // An older reading never lowers it.
    stats.setUnreadAtClose(4);
    feed(stats, [1, 2, 3]);
    stats.onDropped();
    stats.onSrtpAuthFailure();
    assert.equal(stats.snapshot().kernelDropped, 7);
    assert.equal(stats.snapshot().unreadAtClose, 4);
    assert.equal(stats.datagrams, 5);
  });

  void it('takes packets the writer did not store out of packets and bytes, with no gap in lost', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, [1, 2, 3, 4, 5]);
    assert.equal(stats.snapshot().unstored, 0);
    stats.setUnstored(2, 320);
    const s = stats.snapshot();
    assert.equal(s.packets, 3);
    assert.equal(s.bytes, 3 * 160);
    assert.equal(s.unstored, 2);
    assert.equal(s.lost, 0);
    assert.equal(stats.packets, 5, 'every packet accepted still counts as read');
    assert.equal(stats.datagrams, 5);
  });

  void describe('interarrival jitter (RFC 3550 §6.4.1, A.8)', () => {
    void it('is zero when arrivals keep the spacing of the timestamps, across a timestamp wrap', () => {
      const stats = new StreamStatistics(8000);
      for (let i = 0; i < 50; i++) {
        stats.onPacket(SSRC, i, (0xffffff00 + i * 160) >>> 0, 160, T0_US + i * 20_000);
      }
      assert.equal(stats.snapshot().jitterMs, 0);
    });

    void it('converges to the mean deviation: J += (|D| − J) / 16', () => {
      const stats = new StreamStatistics(8000);
      let arrivalUs = T0_US;
      for (let i = 0; i < 200; i++) {
        // Arrivals alternate 10 ms and 30 ms apart around a 20 ms timestamp step: |D| = 10 ms.
        stats.onPacket(SSRC, i, i * 160, 160, arrivalUs);
        arrivalUs += i % 2 === 0 ? 10_000 : 30_000;
      }
      const expected = 10 * (1 - Math.pow(15 / 16, 199));
      assert.ok(Math.abs(stats.snapshot().jitterMs - expected) < 0.01, `jitter ${stats.snapshot().jitterMs}`);
    });

    void it('computes the first step exactly', () => {
      const stats = new StreamStatistics(8000);
      stats.onPacket(SSRC, 1, 0, 160, T0_US);
      stats.onPacket(SSRC, 2, 160, 160, T0_US + 36_000);
      // D = 36 ms − 20 ms = 16 ms, J = 16 / 16 = 1 ms.
      assert.equal(stats.snapshot().jitterMs, 1);
    });

    void it('uses the clock rate set for the codec', () => {
      const wideband = new StreamStatistics(8000);
      wideband.setClockRate(16000);
      const narrow = new StreamStatistics(8000);
      for (let i = 0; i < 20; i++) {
        wideband.onPacket(SSRC, i, i * 320, 320, T0_US + i * 20_000);
        narrow.onPacket(SSRC, i, i * 320, 320, T0_US + i * 20_000);
      }
      assert.equal(wideband.snapshot().jitterMs, 0);
      assert.ok(narrow.snapshot().jitterMs > 10);
    });
  });
});
