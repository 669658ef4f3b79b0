import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import { createMediaEngine, type RtpMediaEngine } from '../../src/media/create-media-engine.js';
import { PcapReader, type PcapPacket } from '../../src/protocol/container/pcap.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { parseSdp } from '../../src/protocol/sdp/sdp.js';
import { getHeader, type SipResponse } from '../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../src/protocol/sip/parse.js';
import { decodeUtf8, encodeUtf8 } from '../../src/protocol/text.js';
import { cubeXRefCi } from '../../src/recording/cube-intake.js';
import { RecordingService } from '../../src/recording/recording-service.js';
import type { SipServer } from '../../src/sip/sip-server.js';
import { cubeFixtureBytes } from '../support/cube-fixtures.js';
import { loopbackSipServer } from '../unit/sip/support/loopback-sip-server.js';
import { boundUdpSocket, closeSockets, randomEnginePorts, sendUdp } from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';

/**
 * A CUBE dial-peer forking call end to end inside one process: a raw UDP socket plays CUBE
 * against the real SIP server, RecordingService, media engine and SQLite repository.
 */
const logger = pino({ level: 'silent' });
const GUID = '0522196224-0000065536-0000000042-3405803530';
const SESSION_ID = 'c0be000000000001';
const PACKETS_PER_TRACK = 25;

describe('CUBE dial-peer forking over UDP', () => {
  let dir: string;
  let repository: Repository;
  let media: RtpMediaEngine;
  let recording: RecordingService;
  const events: VerbatimEvent[] = [];
  let sip: SipServer;
  let sipPort: number;
  let cube: Socket;
  let rtpSocket: Socket;
  const received: SipResponse[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-cube-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    media = await createMediaEngine({
      bind: '127.0.0.1',
      ...randomEnginePorts(100),
      mediaTimeoutMs: 30_000,
      logger,
    });
    recording = new RecordingService({
      repository,
      events: { publish: (event) => events.push(event) },
      media,
      mediaDir: join(dir, 'media'),
      advertise: '127.0.0.1',
      nodeId: 'node-a',
      logger,
      newSessionId: () => SESSION_ID,
    });
    sip = loopbackSipServer(recording, { logger });
    sipPort = (await sip.start()).udpPort;
    cube = await boundUdpSocket();
    rtpSocket = await boundUdpSocket();
    cube.on('message', (bytes) => {
      const parsed = parseSipMessage(new Uint8Array(bytes));
      if (parsed.ok && parsed.value.type === 'response') {
        received.push(parsed.value);
      }
    });
  });

  after(async () => {
    await recording.close();
    await sip.close();
    await media.close();
    await repository.close();
    await closeSockets([cube, rtpSocket]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends a fixture as CUBE on loopback and returns the final response to its CSeq. */
  async function request(fixture: string, cseq: string, toTag = ''): Promise<SipResponse> {
    const bytes = cubeFixtureBytes(fixture, {
      '198.51.100.20:5060': `127.0.0.1:${String(cube.address().port)}`,
      '198.51.100.20': '127.0.0.1',
      'TO-TAG': toTag,
    });
    await sendUdp(cube, bytes, sipPort);
    return waitFor(() => received.find((r) => r.status >= 200 && getHeader(r, 'CSeq') === cseq), {
      timeoutMs: 5000,
      what: `final response to ${cseq}`,
    });
  }

  function inDialog(method: string, cseq: number, toTag: string): Uint8Array {
    const port = String(cube.address().port);
    return encodeUtf8(
      [
        `${method} sip:33333@127.0.0.1:${String(sipPort)} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${method}${String(cseq)}`,
        'From: <sip:127.0.0.1>;tag=7A21B00-2F3C',
        `To: <sip:33333@192.0.2.10>;tag=${toTag}`,
        'Call-ID: 1F2E3D4C-8A1B11EB-90ABCDEF-12345678@127.0.0.1',
        `CSeq: ${String(cseq)} ${method}`,
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  function answeredPorts(response: SipResponse): number[] {
    const sdp = parseSdp(decodeUtf8(response.body));
    assert.ok(sdp.ok);
    return sdp.value.media.map((m) => m.port);
  }

  async function readPcap(path: string): Promise<PcapPacket[]> {
    const reader = new PcapReader();
    const packets = reader.push(await readFile(path));
    assert.equal(reader.error, undefined);
    return packets;
  }

  it('records the INVITE as one Cisco-SIPGateway session, follows a transfer, and stores both forked streams', async () => {
    const ok = await request('cube-nbr-invite.sip', '101 INVITE');
    assert.equal(ok.status, 200);
    const toTag = /;tag=([^;]+)/.exec(getHeader(ok, 'To') ?? '')?.[1];
    assert.ok(toTag !== undefined);
    const ports = answeredPorts(ok);
    assert.equal(ports.length, 2);
    assert.notEqual(ports[0], ports[1]);
    await sendUdp(cube, inDialog('ACK', 101, toTag), sipPort);

    // RTP to both answered ports: a distinct SSRC and payload byte per side.
    for (let seq = 0; seq < PACKETS_PER_TRACK; seq++) {
      for (const [side, port] of ports.entries()) {
        const packet = serializeRtpPacket(
          { marker: false, payloadType: 8, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x1000 + side },
          new Uint8Array(160).fill(side + 1),
        );
        await sendUdp(rtpSocket, packet, port);
      }
    }

    const session = await waitFor(() => repository.getSession(SESSION_ID), { what: 'the stored session' });
    assert.equal(session.callControllerType, 'Cisco-SIPGateway');
    assert.equal(session.callControllerIP, '127.0.0.1');
    assert.equal(session.ccid, GUID);
    assert.deepEqual(
      session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => [p.deviceRef, p.xRefCi])]),
      [
        [0, 'PCMA', [['4155550123', cubeXRefCi(GUID, 0, 'sip:4155550123@198.51.100.7')]]],
        [1, 'PCMA', [['20417', cubeXRefCi(GUID, 1, 'sip:20417@198.51.100.40')]]],
      ],
    );

    // The transfer re-INVITE: 200 with the same ports, and the new party on track 1.
    const reinvite = await request('cube-nbr-reinvite-transfer.sip', '102 INVITE', toTag);
    assert.equal(reinvite.status, 200);
    assert.deepEqual(answeredPorts(reinvite), ports);
    await sendUdp(cube, inDialog('ACK', 102, toTag), sipPort);
    await waitFor(
      async () => {
        const s = await repository.getSession(SESSION_ID);
        return s?.tracks[1]?.participants.some((p) => p.deviceRef === '20988');
      },
      { what: 'the transferred participant' },
    );
    // Announced once stored (SESSION_EVENT UPDATED, issue 11).
    await waitFor(
      () =>
        events.some(
          (e) =>
            e.eventType === 'SESSION_EVENT' &&
            e.eventAction === 'UPDATED' &&
            e.sessionId === SESSION_ID &&
            e.change === 'participants',
        ),
      { what: 'the UPDATED event of the transfer' },
    );

    await waitFor(() => media.getStats(`${SESSION_ID}-1`)?.packets === PACKETS_PER_TRACK, {
      what: 'every RTP packet received',
    });
    await sendUdp(cube, inDialog('BYE', 103, toTag), sipPort);
    const closed = await waitFor(
      async () => {
        const s = await repository.getSession(SESSION_ID);
        return s?.sessionState === 'ACTIVE' ? undefined : s;
      },
      { what: 'the session to close' },
    );
    assert.equal(closed.sessionState, 'CLOSED_NORMAL');
    assert.deepEqual(
      closed.tracks.map((t) => t.participants.map((p) => p.deviceRef)),
      [['4155550123'], ['20417', '20988']],
    );
    for (const track of closed.tracks) {
      assert.equal(track.stats.packets, PACKETS_PER_TRACK);
      const packets = await readPcap(join(dir, 'media', track.mediaPath));
      assert.equal(packets.length, PACKETS_PER_TRACK);
      assert.ok(
        packets.every(
          (p) => p.payload[12] === track.trackNumber + 1 && p.destinationPort === ports[track.trackNumber],
        ),
      );
    }
  });
});
