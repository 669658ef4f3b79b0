import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DTMF_IDLE_END_MS, DtmfDetector, type DtmfDetection } from '../../../src/media/dtmf-detector.js';
import type { TelephoneEvent } from '../../../src/protocol/rtp/telephone-event.js';

interface Packet {
  timestamp: number;
  event: number;
  end?: boolean;
  duration: number;
  atMs: number;
}

function run(packets: readonly Packet[], finish = true): DtmfDetection[] {
  const detections: DtmfDetection[] = [];
  const detector = new DtmfDetector(8000, (d) => detections.push(d));
  for (const p of packets) {
    const event: TelephoneEvent = { event: p.event, end: p.end ?? false, volume: 10, duration: p.duration };
    detector.onPacket(p.timestamp, event, p.atMs);
  }
  if (finish) {
    detector.finish();
  }
  return detections;
}

/** One key press as a sender emits it: updates every 50 ms, then the end packet three times. */
function keyPress(
  event: number,
  timestamp: number,
  startMs: number,
  durationMs: number,
  withEnd = true,
): Packet[] {
  const packets: Packet[] = [];
  for (let ms = 0; ms < durationMs; ms += 50) {
    packets.push({ timestamp, event, duration: ms * 8, atMs: startMs + ms });
  }
  if (withEnd) {
    for (let i = 0; i < 3; i++) {
      packets.push({ timestamp, event, end: true, duration: durationMs * 8, atMs: startMs + durationMs + i });
    }
  }
  return packets;
}

void describe('DtmfDetector', () => {
  void it('reports a key press once although its end packet comes three times', () => {
    const detections = run(keyPress(5, 1000, 10_000, 200), false);
    assert.deepEqual(detections, [{ digit: '5', at: 10_000, durationMs: 200 }]);
  });

  void it('reports consecutive presses of the same key as separate events (new timestamps)', () => {
    const detections = run([...keyPress(1, 1000, 0, 100), ...keyPress(1, 3000, 300, 120)]);
    assert.deepEqual(detections, [
      { digit: '1', at: 0, durationMs: 100 },
      { digit: '1', at: 300, durationMs: 120 },
    ]);
  });

  void it('ends an event whose end packets were lost when the next one starts', () => {
    const detections = run([...keyPress(9, 1000, 0, 150, false), ...keyPress(11, 5000, 400, 100)]);
    assert.deepEqual(detections, [
      { digit: '9', at: 0, durationMs: 100 },
      { digit: '#', at: 400, durationMs: 100 },
    ]);
  });

  void it('tells apart events that share a timestamp but not a code (a replayed capture)', () => {
    const detections = run([...keyPress(1, 1000, 0, 100), ...keyPress(2, 1000, 500, 100)]);
    assert.deepEqual(
      detections.map((d) => d.digit),
      ['1', '2'],
    );
  });

  void it('counts a long event continued in new segments (RFC 4733 §2.5.1.3) once', () => {
    // A 10 s key press at 8 kHz is 80 000 units: a first segment up to 0xffff, then one more.
    const first: Packet[] = [];
    for (let d = 0; d <= 0xffff; d += 4000) {
      first.push({ timestamp: 1000, event: 0, duration: d, atMs: d / 8 });
    }
    first.push({ timestamp: 1000, event: 0, duration: 0xffff, atMs: 0xffff / 8 });
    const secondStart = 1000 + 0xffff;
    const rest = 80_000 - 0xffff;
    const second: Packet[] = [
      { timestamp: secondStart, event: 0, duration: 400, atMs: 8200 },
      { timestamp: secondStart, event: 0, end: true, duration: rest, atMs: 10_000 },
      { timestamp: secondStart, event: 0, end: true, duration: rest, atMs: 10_001 },
    ];
    assert.deepEqual(run([...first, ...second]), [{ digit: '0', at: 0, durationMs: 10_000 }]);
  });

  void it('reports a long event without any end packet once, when it goes idle or the stream ends', () => {
    const detections: DtmfDetection[] = [];
    const detector = new DtmfDetector(8000, (d) => detections.push(d));
    for (let ms = 0; ms <= 3000; ms += 50) {
      detector.onPacket(7777, { event: 12, end: false, volume: 10, duration: ms * 8 }, 1000 + ms);
      detector.checkIdle(1000 + ms + 10);
    }
    assert.equal(detections.length, 0);
    detector.checkIdle(4000 + DTMF_IDLE_END_MS - 1);
    assert.equal(detections.length, 0);
    detector.checkIdle(4000 + DTMF_IDLE_END_MS);
    assert.deepEqual(detections, [{ digit: 'A', at: 1000, durationMs: 3000 }]);
    // Late packets of the same event and the stream's end add nothing.
    detector.onPacket(7777, { event: 12, end: true, volume: 10, duration: 3000 * 8 }, 5500);
    detector.finish();
    assert.equal(detections.length, 1);
  });

  void it('reports an event whose start packets were lost, from its end packet', () => {
    const detections = run([{ timestamp: 50, event: 16, end: true, duration: 1600, atMs: 42 }]);
    assert.deepEqual(detections, [{ digit: 'flash', at: 42, durationMs: 200 }]);
  });

  void it('ignores late packets of an earlier event and does not report non-DTMF events', () => {
    const detections = run([
      ...keyPress(3, 2000, 0, 100),
      // A reordered packet of the finished event arrives after the next event began.
      { timestamp: 4000, event: 4, duration: 0, atMs: 300 },
      { timestamp: 2000, event: 3, duration: 400, atMs: 310 },
      { timestamp: 4000, event: 4, end: true, duration: 800, atMs: 400 },
      // A fax CNG tone (event 36) is not a key press.
      ...keyPress(36, 9000, 1000, 500),
    ]);
    assert.deepEqual(
      detections.map((d) => d.digit),
      ['3', '4'],
    );
  });

  void it('uses the telephone-event clock rate for the duration and survives a timestamp wrap', () => {
    const detections: DtmfDetection[] = [];
    const detector = new DtmfDetector(16000, (d) => detections.push(d));
    detector.onPacket(0xfffffff0, { event: 8, end: true, volume: 5, duration: 1600 }, 0);
    detector.onPacket(0x00000100, { event: 8, end: true, volume: 5, duration: 3200 }, 500);
    assert.deepEqual(detections, [
      { digit: '8', at: 0, durationMs: 100 },
      { digit: '8', at: 500, durationMs: 200 },
    ]);
  });
});
