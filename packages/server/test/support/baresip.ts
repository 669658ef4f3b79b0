import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { toneFileArgs } from './ffmpeg-tone.js';
import { freeTcpPort } from './ports.js';
import { spawnTracked, waitExit, type Spawned } from './processes.js';
import { waitFor } from './wait.js';

/**
 * Debian's baresip as a real SIP user agent calling Verbatim over SIP/TLS: a user agent nobody
 * here wrote, with its own TLS stack, SDP offer and (optionally) SDES-SRTP (RFC 4568). Each call
 * gets a fresh config directory (`baresip -f DIR`): no sound card (the tone comes from a WAV file
 * through the aufile module, what is received goes to ALSA's null device, and Verbatim never sends
 * media anyway), everything bound to 127.0.0.1 on ports the kernel picks, and the ctrl_tcp module
 * so the test dials, hangs up and quits through commands and follows the call through events
 * instead of reading the console.
 */

export interface BaresipCallOptions {
  /** A directory of the test's own; the config goes to `<work>/<name>/`. */
  readonly work: string;
  /** Names the config directory and the process in failure output. */
  readonly name: string;
  /** Verbatim's SIP over TLS port on 127.0.0.1. */
  readonly tlsPort: number;
  /** Mono 8 kHz 16-bit WAV that baresip sends as the call's audio (see writeToneWav). */
  readonly toneWavPath: string;
  /** How long the call stays up once established, before baresip hangs up. */
  readonly holdMs: number;
  /** The one codec baresip offers. */
  readonly codec?: 'PCMU' | 'PCMA';
  /** `srtp-mand`: the offer is RTP/SAVP with a=crypto and baresip sends only SRTP. */
  readonly mediaenc?: 'srtp-mand';
  /** User part of the request URI (the number dialled). */
  readonly target?: string;
  /** User part of baresip's own AOR (the From user). */
  readonly user?: string;
}

/** An event of baresip's ctrl_tcp interface, e.g. `{type: 'CALL_ESTABLISHED', id: '<Call-ID>'}`. */
export interface BaresipEvent {
  readonly type: string;
  readonly class?: string;
  /** The call's SIP Call-ID (call events). */
  readonly id?: string;
  /** CALL_CLOSED: the reason, e.g. "Connection reset by peer" or "488 Not Acceptable Here". */
  readonly param?: string;
  readonly peeruri?: string;
}

export interface BaresipCallResult {
  /** The SIP Call-ID of the call (from baresip's call events), when one was set up. */
  readonly callId?: string;
  readonly established: boolean;
  /** Wall-clock time of CALL_ESTABLISHED and of CALL_CLOSED. */
  readonly establishedAtMs?: number;
  readonly closedAtMs?: number;
  /** The reason of CALL_CLOSED. */
  readonly closeReason?: string;
  /** True when the call was still up at the end of holdMs and baresip hung up (not the server). */
  readonly hungUpByBaresip: boolean;
  readonly events: readonly BaresipEvent[];
  /** baresip's console output (with the SIP trace), for failure messages. */
  readonly output: string;
  /** Exit code of baresip (0 after the `quit` command). */
  readonly exitCode: number | string;
}

/** Writes a mono 8 kHz 16-bit WAV of a pure tone with ffmpeg (the lavfi sine source). */
export function writeToneWav(path: string, frequencyHz: number, seconds: number): void {
  const result = spawnSync(
    'ffmpeg',
    toneFileArgs(frequencyHz, seconds, ['-ac', '1', '-c:a', 'pcm_s16le'], path),
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) {
    throw new Error(`ffmpeg could not write ${path}: ${result.stderr || String(result.error)}`);
  }
}

/** baresip's config file: only the modules a headless TLS (+SRTP) G.711 caller needs. */
function configFile(options: BaresipCallOptions, ctrlPort: number): string {
  return [
    'poll_method\t\tepoll',
    // Binding to the loopback address makes baresip write 127.0.0.1 into its SDP c= line, so the
    // RTP comes from the address Verbatim pins as the media source.
    'net_interface\t\t127.0.0.1',
    // Port 0: the kernel picks the UDP, TCP and TLS ports, so parallel tests never collide.
    'sip_listen\t\t127.0.0.1:0',
    'call_local_timeout\t30',
    'call_max_calls\t\t1',
    `audio_source\t\taufile,${options.toneWavPath}`,
    'audio_player\t\talsa,null',
    'audio_alert\t\talsa,null',
    'ausrc_srate\t\t8000',
    'auplay_srate\t\t8000',
    // Below the RTP ranges Verbatim uses in the tests (20000+) and the ephemeral range.
    'rtp_ports\t\t10000-19999',
    'rtcp_mux\t\tno',
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\taufile.so',
    'module\t\t\talsa.so',
    'module\t\t\tsrtp.so',
    'module_tmp\t\taccount.so',
    // menu provides the dial/hangup/quit commands; ctrl_tcp carries them and the call events.
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}`,
    '',
  ].join('\n');
}

/**
 * One account, no registration (`regint=0`: Verbatim is no registrar), one codec, and SDES-SRTP
 * when asked. baresip 1.0 does not verify the server's certificate, which suits the self-signed
 * one Verbatim generates.
 */
function accountsFile(options: BaresipCallOptions): string {
  const params = [
    'regint=0',
    `audio_codecs=${options.codec ?? 'PCMU'}`,
    'answermode=manual',
    ...(options.mediaenc === undefined ? [] : [`mediaenc=${options.mediaenc}`]),
  ];
  return `<sip:${options.user ?? 'agent'}@127.0.0.1>;${params.join(';')}\n`;
}

/** A ctrl_tcp connection: netstring-framed JSON both ways. */
class CtrlConnection {
  readonly events: BaresipEvent[] = [];
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #token = 0;
  readonly #responses = new Map<string, { ok: boolean; data: string }>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    // A reset when baresip quits is expected; the call outcome is read from the events.
    socket.on('error', () => undefined);
  }

  static async open(port: number, baresip: Spawned): Promise<CtrlConnection> {
    const socket = await waitFor(
      () => {
        if (baresip.child.exitCode !== null) {
          throw new Error(`baresip exited early:\n${baresip.output()}`);
        }
        return new Promise<Socket | undefined>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => resolve(s));
          s.once('error', () => {
            s.destroy();
            resolve(undefined);
          });
        });
      },
      { timeoutMs: 15_000, intervalMs: 50, what: 'baresip ctrl_tcp to listen' },
    );
    return new CtrlConnection(socket);
  }

  /** Sends a command and waits for baresip's response to it. */
  async command(command: string, params?: string): Promise<{ ok: boolean; data: string }> {
    const token = `t${++this.#token}`;
    const json = JSON.stringify({ command, ...(params === undefined ? {} : { params }), token });
    this.#socket.write(`${Buffer.byteLength(json)}:${json},`);
    return waitFor(() => this.#responses.get(token), {
      timeoutMs: 10_000,
      what: `baresip's response to ${command}`,
    });
  }

  event(predicate: (e: BaresipEvent) => boolean): BaresipEvent | undefined {
    return this.events.find(predicate);
  }

  close(): void {
    this.#socket.destroy();
  }

  #drain(): void {
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) {
        return;
      }
      const length = Number(this.#buffer.subarray(0, colon).toString());
      if (colon === 0 || !Number.isInteger(length) || length < 0) {
        // Not a netstring: keep it as an event so the failure shows it, and stop reading.
        this.events.push({ type: 'CTRL_PROTOCOL_ERROR', param: this.#buffer.toString() });
        this.#buffer = Buffer.alloc(0);
        return;
      }
      const end = colon + 1 + length;
      if (this.#buffer.length < end + 1) {
        return;
      }
      const text = this.#buffer.subarray(colon + 1, end).toString();
      this.#buffer = this.#buffer.subarray(end + 1);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.events.push({ type: 'CTRL_PROTOCOL_ERROR', param: text });
        continue;
      }
      if (message.event === true) {
        this.events.push(message as unknown as BaresipEvent);
      } else if (message.response === true && typeof message.token === 'string') {
        this.#responses.set(message.token, {
          ok: message.ok === true,
          data: typeof message.data === 'string' ? message.data : '',
        });
      }
    }
  }
}

/**
 * Runs one call from baresip to `sip:<target>@127.0.0.1:<tlsPort>;transport=tls`: dial, keep the
 * call up for holdMs after it is established (unless the far end ends it first), hang up, quit.
 * A call that is refused or never established is reported in the result, not thrown, so tests can
 * assert the outcome; baresip is stopped in every case.
 */
export async function runBaresipCall(options: BaresipCallOptions): Promise<BaresipCallResult> {
  const dir = join(options.work, options.name);
  await mkdir(dir, { recursive: true });
  const ctrlPort = await freeTcpPort();
  await writeFile(join(dir, 'config'), configFile(options, ctrlPort));
  await writeFile(join(dir, 'accounts'), accountsFile(options));
  // -s: SIP trace in the output (shown when a test fails); -t: a backstop should the test hang.
  const backstopSeconds = Math.ceil(options.holdMs / 1000) + 60;
  const baresip = spawnTracked(`baresip ${options.name}`, 'baresip', [
    '-f',
    dir,
    '-s',
    '-t',
    String(backstopSeconds),
  ]);
  let ctrl: CtrlConnection | undefined;
  try {
    ctrl = await CtrlConnection.open(ctrlPort, baresip);
    const connection = ctrl;
    const target = `sip:${options.target ?? 'record'}@127.0.0.1:${options.tlsPort};transport=tls`;
    const dialled = await connection.command('dial', target);
    if (!dialled.ok) {
      throw new Error(`baresip refused to dial ${target}: ${dialled.data}`);
    }
    const outcome = await waitFor(
      () => connection.event((e) => e.type === 'CALL_ESTABLISHED' || e.type === 'CALL_CLOSED'),
      { timeoutMs: 20_000, what: 'the call to be established or refused' },
    );
    const established = outcome.type === 'CALL_ESTABLISHED';
    const establishedAtMs = established ? Date.now() : undefined;
    let hungUpByBaresip = false;
    if (established) {
      // The call's length is the behaviour under test, so this is a deadline, not a sync sleep:
      // the wait ends early when the far end hangs up.
      const deadline = Date.now() + options.holdMs;
      const closedEarly = await waitFor(
        () =>
          connection.event((e) => e.type === 'CALL_CLOSED') ?? (Date.now() >= deadline ? 'up' : undefined),
        { timeoutMs: options.holdMs + 5000, intervalMs: 10, what: 'the call hold time' },
      );
      if (closedEarly === 'up') {
        hungUpByBaresip = true;
        await connection.command('hangup');
      }
    }
    const closed = await waitFor(() => connection.event((e) => e.type === 'CALL_CLOSED'), {
      timeoutMs: 10_000,
      what: 'baresip to report the call closed',
    });
    const closedAtMs = Date.now();
    await connection.command('quit');
    const exitCode = await waitExit(baresip, 10_000);
    const callId = outcome.id ?? closed.id;
    return {
      ...(callId === undefined ? {} : { callId }),
      established,
      ...(establishedAtMs === undefined ? {} : { establishedAtMs }),
      closedAtMs,
      ...(closed.param === undefined ? {} : { closeReason: closed.param }),
      hungUpByBaresip,
      events: [...connection.events],
      output: baresip.output(),
      exitCode,
    };
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\nbaresip output:\n${baresip.output()}`,
    );
  } finally {
    ctrl?.close();
    await baresip.stop(2000);
  }
}
