import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import type { CallsReport, GeneratorCommand, GeneratorReport } from '../../../../bench/protocol.js';
import { parseNameAddr, parseVia } from '../../src/protocol/sip/headers.js';
import { getHeader, type SipRequest } from '../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../src/protocol/sip/parse.js';
import { buildRequest, buildResponse, serializeSipMessage } from '../../src/protocol/sip/serialize.js';
import { parseSdp } from '../../src/protocol/sdp/sdp.js';
import { decodeUtf8 } from '../../src/protocol/text.js';
import { waitFor } from '../support/wait.js';

/**
 * The benchmark's load generator, forked exactly as bench/run.ts forks it, against a fake
 * recorder written here: a UDP SIP socket that answers INVITE with 100 + 200 (or 503) and SDP
 * pointing at its own receiving sockets, answers BYE with 200 and counts every RTP packet.
 */

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const LOCALHOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// The generator process.

class Generator {
  readonly child: ChildProcess;
  readonly #reports: GeneratorReport[] = [];
  readonly exited: Promise<number | null>;

  constructor(env: Record<string, string>) {
    this.child = fork('bench/load-generator.ts', [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message: GeneratorReport) => {
      this.#reports.push(message);
    });
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code) => {
        resolveExit(code);
      });
    });
  }

  async next(timeoutMs: number): Promise<GeneratorReport> {
    const report = await waitFor(() => this.#reports.shift(), { timeoutMs, what: 'a generator report' });
    if (report.type === 'error') {
      throw new Error(`generator error: ${report.message}`);
    }
    return report;
  }

  send(command: GeneratorCommand): void {
    this.child.send(command);
  }

  async request(command: GeneratorCommand, timeoutMs = 20_000): Promise<GeneratorReport> {
    this.send(command);
    return this.next(timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The fake recorder.

interface RtpCount {
  callKey: string;
  stream: number;
  packets: number;
  ssrcs: Set<number>;
  payloadTypes: Set<number>;
  payloadBytes: Set<number>;
  /** Packets whose sequence number or timestamp did not follow the previous one (+1, +160). */
  discontinuities: number;
  firstMarker: boolean | undefined;
  lastSeq: number | undefined;
  lastTimestamp: number | undefined;
  sources: Set<string>;
}

type RecorderMode = 'answer' | 'reject-503' | 'bye-after-ack' | 'drop-first-invite';

interface InviteRecord {
  readonly request: SipRequest;
  readonly branch: string;
}

class FakeRecorder {
  readonly sip = dgram.createSocket('udp4');
  readonly mediaSockets: dgram.Socket[] = [];
  readonly rtp = new Map<number, RtpCount>();
  readonly invites: InviteRecord[] = [];
  readonly acks: SipRequest[] = [];
  readonly byes: SipRequest[] = [];
  /** Responses the generator sent to our own requests (BYE). */
  readonly responsesToUs: number[] = [];
  mode: RecorderMode = 'answer';
  /** Last response per INVITE branch, resent when the INVITE is retransmitted. */
  readonly #answered = new Map<string, Uint8Array>();
  #dropped = new Set<string>();
  #tag = 0;
  /** Set by close(): an answer still being built, or a BYE still timed, is then not sent. */
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  async start(): Promise<void> {
    await new Promise<void>((resolveBind) => this.sip.bind(0, LOCALHOST, resolveBind));
    this.sip.on('message', (datagram, rinfo) => {
      void this.#onSip(datagram, rinfo);
    });
  }

  get port(): number {
    return this.sip.address().port;
  }

  async openReceiver(callKey: string, stream: number): Promise<number> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolveBind) => socket.bind(0, LOCALHOST, resolveBind));
    const port = socket.address().port;
    if (this.#closed) {
      socket.close();
      return port;
    }
    const count: RtpCount = {
      callKey,
      stream,
      packets: 0,
      ssrcs: new Set(),
      payloadTypes: new Set(),
      payloadBytes: new Set(),
      discontinuities: 0,
      firstMarker: undefined,
      lastSeq: undefined,
      lastTimestamp: undefined,
      sources: new Set(),
    };
    this.rtp.set(port, count);
    socket.on('message', (packet, rinfo) => {
      const seq = packet.readUInt16BE(2);
      const timestamp = packet.readUInt32BE(4);
      if (count.packets === 0) {
        count.firstMarker = (packet[1]! & 0x80) !== 0;
      } else if (
        seq !== ((count.lastSeq! + 1) & 0xffff) ||
        timestamp !== (count.lastTimestamp! + 160) >>> 0
      ) {
        count.discontinuities++;
      }
      count.packets++;
      count.lastSeq = seq;
      count.lastTimestamp = timestamp;
      count.ssrcs.add(packet.readUInt32BE(8));
      count.payloadTypes.add(packet[1]! & 0x7f);
      count.payloadBytes.add(packet.length - 12);
      count.sources.add(`${rinfo.address}:${rinfo.port}`);
    });
    this.mediaSockets.push(socket);
    return port;
  }

  countsFor(callKey: string, stream: number): RtpCount | undefined {
    return [...this.rtp.values()].find((c) => c.callKey === callKey && c.stream === stream);
  }

  reset(mode: RecorderMode): void {
    this.mode = mode;
    this.invites.length = 0;
    this.acks.length = 0;
    this.byes.length = 0;
    this.responsesToUs.length = 0;
    this.#dropped = new Set();
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) {
      clearTimeout(timer);
    }
    this.sip.close();
    for (const socket of this.mediaSockets) {
      socket.close();
    }
  }

  #send(bytes: Uint8Array, rinfo: dgram.RemoteInfo): void {
    // An INVITE answered across an await (opening its media sockets) can finish after the suite
    // closed the socket; sending then would throw ERR_SOCKET_DGRAM_NOT_RUNNING out of the test.
    if (this.#closed) {
      return;
    }
    this.sip.send(bytes, rinfo.port, rinfo.address);
  }

  async #onSip(datagram: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const parsed = parseSipMessage(datagram);
    assert.ok(parsed.ok, `the generator sent unparseable SIP: ${datagram.toString()}`);
    const message = parsed.value;
    if (message.type === 'response') {
      this.responsesToUs.push(message.status);
      return;
    }
    switch (message.method) {
      case 'INVITE':
        await this.#onInvite(message, rinfo);
        return;
      case 'ACK':
        this.acks.push(message);
        if (this.mode === 'bye-after-ack' && message.body.length > 0) {
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.#sendBye(message, rinfo);
          }, 300);
          this.#timers.add(timer);
        }
        return;
      case 'BYE':
        this.byes.push(message);
        this.#send(serializeSipMessage(buildResponse(message, 200, 'OK')), rinfo);
        return;
      default:
        this.#send(serializeSipMessage(buildResponse(message, 405, 'Method Not Allowed')), rinfo);
    }
  }

  async #onInvite(invite: SipRequest, rinfo: dgram.RemoteInfo): Promise<void> {
    const via = parseVia(getHeader(invite, 'Via') ?? '');
    assert.ok(via.ok && via.value.branch !== undefined);
    const branch = via.value.branch;
    this.invites.push({ request: invite, branch });
    if (this.mode === 'drop-first-invite' && !this.#dropped.has(branch)) {
      // Lose the first copy: the generator must retransmit on Timer A.
      this.#dropped.add(branch);
      return;
    }
    const previous = this.#answered.get(branch);
    if (previous !== undefined) {
      this.#send(previous, rinfo);
      return;
    }
    this.#send(serializeSipMessage(buildResponse(invite, 100, 'Trying')), rinfo);
    if (this.mode === 'reject-503') {
      const response = serializeSipMessage(
        buildResponse(invite, 503, 'Service Unavailable', {
          toTag: `rej${++this.#tag}`,
          headers: [{ name: 'Retry-After', value: '5' }],
        }),
      );
      this.#answered.set(branch, response);
      this.#send(response, rinfo);
      return;
    }
    const from = parseNameAddr(getHeader(invite, 'From') ?? '');
    assert.ok(from.ok);
    let sdp: string;
    if (invite.body.length === 0) {
      // CUCM: delayed offer; our offer goes in the 200 OK.
      const refCi = from.value.uri.params.get('x-refci');
      assert.ok(typeof refCi === 'string');
      const stream = from.value.uri.params.has('x-nearend') ? 0 : 1;
      const port = await this.openReceiver(refCi, stream);
      sdp = sdpLines([`m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:101 telephone-event/8000', 'a=recvonly']);
    } else {
      // CUBE: answer each offered line recvonly on a port of our own.
      const guid = getHeader(invite, 'Cisco-Guid');
      assert.ok(guid !== undefined);
      const offer = parseSdp(decodeUtf8(invite.body));
      assert.ok(offer.ok);
      const lines: string[] = [];
      for (const media of offer.value.media) {
        const port = await this.openReceiver(guid, media.index);
        const pt = media.codecs[0]?.payloadType ?? 0;
        lines.push(`m=audio ${port} RTP/AVP ${pt}`, 'a=recvonly');
      }
      sdp = sdpLines(lines);
    }
    const response = serializeSipMessage(
      buildResponse(invite, 200, 'OK', {
        toTag: `fake${++this.#tag}`,
        headers: [{ name: 'Contact', value: `<sip:fake@${LOCALHOST}:${this.port};transport=udp>` }],
        body: { contentType: 'application/sdp', content: sdp },
      }),
    );
    this.#answered.set(branch, response);
    this.#send(response, rinfo);
  }

  /** The recorder hangs up by itself (as on a media timeout). */
  #sendBye(ack: SipRequest, rinfo: dgram.RemoteInfo): void {
    const bye = buildRequest({
      method: 'BYE',
      requestUri: `sip:${rinfo.address}:${rinfo.port}`,
      via: `SIP/2.0/UDP ${LOCALHOST}:${this.port};branch=z9hG4bKfakebye${++this.#tag}`,
      from: getHeader(ack, 'To') ?? '',
      to: getHeader(ack, 'From') ?? '',
      callId: getHeader(ack, 'Call-ID') ?? '',
      cseq: 1,
    });
    this.#send(serializeSipMessage(bye), rinfo);
  }
}

function sdpLines(media: string[]): string {
  return [
    'v=0',
    `o=FakeRecorder 1 1 IN IP4 ${LOCALHOST}`,
    's=-',
    `c=IN IP4 ${LOCALHOST}`,
    't=0 0',
    ...media,
    '',
  ].join('\r\n');
}

function assertStreamsMatch(report: CallsReport, recorder: FakeRecorder, payloadType: number): void {
  let total = 0;
  for (const stream of report.streams) {
    const received = recorder.countsFor(stream.callKey, stream.stream);
    assert.ok(received !== undefined, `no RTP reached the recorder for ${stream.callKey}/${stream.stream}`);
    assert.equal(received.packets, stream.sentPackets, `packets of ${stream.callKey}/${stream.stream}`);
    assert.deepEqual([...received.ssrcs], [stream.ssrc]);
    assert.deepEqual([...received.payloadTypes], [payloadType]);
    assert.deepEqual([...received.payloadBytes], [160]);
    assert.equal(received.discontinuities, 0);
    assert.equal(received.firstMarker, true);
    assert.equal(received.sources.size, 1, 'one stable source port per stream');
    total += stream.sentPackets;
  }
  assert.equal(report.sentPackets, total);
}

const CALL_OPTIONS = { timeout: 30_000 };

type PlaceCalls = Omit<Extract<GeneratorCommand, { type: 'place-calls' }>, 'type' | 'target'>;

/** Has the generator place calls at the fake recorder; the report is checked to be this command's. */
async function placeCalls(
  generator: Generator,
  recorder: FakeRecorder,
  calls: PlaceCalls,
): Promise<CallsReport> {
  const report = await generator.request({
    type: 'place-calls',
    target: { host: LOCALHOST, sipPort: recorder.port },
    ...calls,
  });
  assert.ok(report.type === 'calls-done');
  assert.equal(report.tag, calls.tag);
  return report;
}

function outcomeOf(report: CallsReport): Pick<CallsReport, 'attempted' | 'answered' | 'rejected' | 'failed'> {
  return {
    attempted: report.attempted,
    answered: report.answered,
    rejected: report.rejected,
    failed: report.failed,
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Every generator test, for one place of the RTP senders (BENCH_RTP_WORKERS): the SIP side is the
 * same either way, and the media must arrive alike from a worker thread and from the main thread.
 */
function describeGenerator(rtpThread: string, rtpWorkers: '0' | '1'): void {
  describe(`bench load generator (RTP on ${rtpThread})`, () => {
    const recorder = new FakeRecorder();
    let generator: Generator;

    before(async () => {
      await recorder.start();
      generator = new Generator({ BENCH_RTP_WORKERS: rtpWorkers });
      assert.deepEqual(await generator.next(20_000), { type: 'ready' });
    });

    after(async () => {
      await generator.stop();
      recorder.close();
    });

    it(
      'places CUCM-style calls: two delayed-offer dialogs per call, the answer in the ACK, RTP on both',
      CALL_OPTIONS,
      async () => {
        recorder.reset('answer');
        const report = await placeCalls(generator, recorder, {
          tag: 'cucm',
          style: 'cucm',
          calls: 3,
          callsPerSecond: 10,
          holdMs: 1000,
          codec: 'PCMA',
        });
        assert.deepEqual(outcomeOf(report), { attempted: 3, answered: 3, rejected: 0, failed: 0 });
        assert.equal(report.streams.length, 6);
        for (const stream of report.streams) {
          assert.equal(stream.sentPackets, 50, '1000 ms of 20 ms packets');
        }
        assertStreamsMatch(report, recorder, 8);
        assert.ok(report.setupMsP50 > 0 && report.setupMsP50 <= report.setupMsP95);
        assert.ok(report.setupWindowMs > 0, 'the setup window was measured');

        // Two INVITEs per call, without SDP, with the CUCM From parameters; callKey is x-refci.
        assert.equal(recorder.invites.length, 6);
        const keys = new Set(report.streams.map((s) => s.callKey));
        assert.equal(keys.size, 3);
        for (const { request } of recorder.invites) {
          assert.equal(request.body.length, 0);
          const from = parseNameAddr(getHeader(request, 'From') ?? '');
          assert.ok(from.ok);
          const params = from.value.uri.params;
          assert.ok(params.has('x-nearend') !== params.has('x-farend'));
          assert.ok(keys.has(params.get('x-refci') ?? ''));
          for (const name of [
            'x-farendrefci',
            'x-nearenddevice',
            'x-nearendaddr',
            'x-farenddevice',
            'x-farendaddr',
          ]) {
            assert.ok(typeof params.get(name) === 'string', name);
          }
          assert.match(getHeader(request, 'Via') ?? '', /;rport/);
        }
        assert.equal(new Set(recorder.invites.map((i) => getHeader(i.request, 'Call-ID'))).size, 6);
        assert.equal(new Set(recorder.invites.map((i) => i.branch)).size, 6);

        // Each 2xx ACKed with CUCM's answer: one m=audio, the codec + 101, sendonly, c= the generator.
        assert.equal(recorder.acks.length, 6);
        for (const ack of recorder.acks) {
          const answer = parseSdp(decodeUtf8(ack.body));
          assert.ok(answer.ok);
          assert.equal(answer.value.media.length, 1);
          const media = answer.value.media[0]!;
          assert.deepEqual(
            media.codecs.map((c) => c.payloadType),
            [8, 101],
          );
          assert.equal(media.direction, 'sendonly');
          assert.equal(media.connectionAddress, LOCALHOST);
        }
        assert.equal(recorder.byes.length, 6);
      },
    );

    it(
      'counts a 503 as rejected and ACKs it on the INVITE branch (RFC 3261 §17.1.1.3)',
      CALL_OPTIONS,
      async () => {
        recorder.reset('reject-503');
        const report = await placeCalls(generator, recorder, {
          tag: 'busy',
          style: 'cube',
          calls: 2,
          callsPerSecond: 20,
          holdMs: 500,
          codec: 'PCMU',
        });
        assert.deepEqual(outcomeOf(report), { attempted: 2, answered: 0, rejected: 2, failed: 0 });
        assert.deepEqual(report.streams, []);
        assert.equal(report.sentPackets, 0);
        await waitFor(() => recorder.acks.length === 2, { what: 'the ACKs of the two 503 responses' });
        for (const ack of recorder.acks) {
          const via = parseVia(getHeader(ack, 'Via') ?? '');
          assert.ok(via.ok);
          assert.ok(recorder.invites.some((i) => i.branch === via.value.branch));
          assert.match(getHeader(ack, 'To') ?? '', /;tag=rej\d+/);
          assert.equal(getHeader(ack, 'CSeq'), '101 ACK');
        }
      },
    );

    it('send-rtp delivers one 50 packets/s stream per port, no SIP', CALL_OPTIONS, async () => {
      recorder.reset('answer');
      const ports = [
        await recorder.openReceiver('plain', 0),
        await recorder.openReceiver('plain', 1),
        await recorder.openReceiver('plain', 2),
      ];
      const report = await generator.request({
        type: 'send-rtp',
        tag: 'baseline',
        host: LOCALHOST,
        ports,
        durationMs: 1000,
      });
      assert.ok(report.type === 'rtp-done');
      assert.equal(report.tag, 'baseline');
      assert.equal(report.sentPackets, 150);
      await waitFor(() => ports.every((p) => recorder.rtp.get(p)?.packets === 50), {
        what: '50 packets on every port',
      });
      for (const port of ports) {
        assert.equal(recorder.rtp.get(port)!.discontinuities, 0);
      }
      assert.equal(recorder.invites.length, 0);
    });

    it('runs commands concurrently, each report tagged as its command', CALL_OPTIONS, async () => {
      recorder.reset('answer');
      const first = await recorder.openReceiver('concurrent', 0);
      const second = await recorder.openReceiver('concurrent', 1);
      generator.send({ type: 'send-rtp', tag: 'first', host: LOCALHOST, ports: [first], durationMs: 3000 });
      generator.send({ type: 'send-rtp', tag: 'second', host: LOCALHOST, ports: [second], durationMs: 600 });
      const reports = [await generator.next(10_000), await generator.next(10_000)];
      // The short second command reports while the long first one is still sending: it did not
      // wait for it. (The order of the reports says so; no clock of this process is read.)
      assert.deepEqual(
        reports.map((r) => (r.type === 'rtp-done' ? r.tag : r.type)),
        ['second', 'first'],
      );
      await waitFor(
        () => recorder.rtp.get(first)?.packets === 150 && recorder.rtp.get(second)?.packets === 30,
        {
          what: '150 and 30 packets on the two ports',
        },
      );
    });

    it(
      'places CUBE-style calls: one INVITE with two sendonly m=audio lines, RTP to both answered ports',
      CALL_OPTIONS,
      async () => {
        recorder.reset('answer');
        const report = await placeCalls(generator, recorder, {
          tag: 'cube',
          style: 'cube',
          calls: 3,
          callsPerSecond: 10,
          holdMs: 1000,
          codec: 'PCMU',
        });
        assert.deepEqual(outcomeOf(report), { attempted: 3, answered: 3, rejected: 0, failed: 0 });
        assert.equal(report.streams.length, 6);
        assert.deepEqual(report.streams.map((s) => s.stream).sort(), [0, 0, 0, 1, 1, 1]);
        assertStreamsMatch(report, recorder, 0);
        assert.equal(recorder.invites.length, 3);
        const guids = new Set<string>();
        for (const { request } of recorder.invites) {
          const guid = getHeader(request, 'Cisco-Guid') ?? '';
          assert.match(guid, /^\d{10}-\d{10}-\d{10}-\d{10}$/);
          guids.add(guid);
          const offer = parseSdp(decodeUtf8(request.body));
          assert.ok(offer.ok);
          assert.equal(offer.value.media.length, 2);
          for (const media of offer.value.media) {
            assert.equal(media.direction, 'sendonly');
            assert.equal(media.codecs[0]?.payloadType, 0);
            assert.equal(media.connectionAddress, LOCALHOST);
          }
        }
        assert.deepEqual(new Set(report.streams.map((s) => s.callKey)), guids);
        assert.equal(recorder.acks.length, 3);
        assert.equal(recorder.byes.length, 3);
      },
    );

    it('retransmits an unanswered INVITE on Timer A with the same branch', CALL_OPTIONS, async () => {
      recorder.reset('drop-first-invite');
      const report = await placeCalls(generator, recorder, {
        tag: 'lossy',
        style: 'cube',
        calls: 1,
        callsPerSecond: 1,
        holdMs: 100,
        codec: 'PCMU',
      });
      assert.equal(report.answered, 1);
      assert.equal(recorder.invites.length, 2);
      assert.equal(recorder.invites[0]!.branch, recorder.invites[1]!.branch);
    });

    it('answers the recorder’s own BYE with 200 and counts that call as failed', CALL_OPTIONS, async () => {
      recorder.reset('bye-after-ack');
      const report = await placeCalls(generator, recorder, {
        tag: 'recorder-bye',
        style: 'cucm',
        calls: 1,
        callsPerSecond: 1,
        holdMs: 5000,
        codec: 'PCMU',
      });
      assert.deepEqual(
        { answered: report.answered, rejected: report.rejected, failed: report.failed },
        { answered: 1, rejected: 0, failed: 1 },
      );
      await waitFor(() => recorder.responsesToUs.length >= 1, { what: "the generator's answer to our BYE" });
      assert.ok(recorder.responsesToUs.every((status) => status === 200));
      // The media stopped early, well before the 5 s hold, and what was sent arrived.
      assert.equal(report.streams.length, 2);
      for (const stream of report.streams) {
        assert.ok(stream.sentPackets < 100, `${stream.sentPackets} packets sent`);
      }
      await waitFor(
        () => report.streams.every((s) => recorder.countsFor(s.callKey, s.stream)?.packets === s.sentPackets),
        { what: 'every packet sent before the BYE' },
      );
    });

    it('exits 0 on exit', CALL_OPTIONS, async () => {
      generator.send({ type: 'exit' });
      assert.equal(await generator.exited, 0);
    });
  });
}

describeGenerator('a worker thread, the default', '1');
describeGenerator('the main thread', '0');

describe('bench load generator errors', () => {
  let generator: Generator;

  before(async () => {
    generator = new Generator({});
    assert.deepEqual(await generator.next(20_000), { type: 'ready' });
  });

  after(async () => {
    await generator.stop();
  });

  it('reports a command it cannot run as an error and exits 1', CALL_OPTIONS, async () => {
    generator.child.send({ type: 'dance' });
    await assert.rejects(generator.next(10_000), /generator error: .*unknown command/);
    assert.equal(await generator.exited, 1);
  });
});
