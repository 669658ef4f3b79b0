import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { SessionJson as ApiSessionJson } from '../../src/api/session-json.js';
import { findSessionByCcid, randomCiscoGuid } from '../support/cube-calls.js';
import { trackLayout, videoForkLayout } from '../support/cube-fixtures.js';
import {
  cubeVideoForkingScenario,
  depacketiseH264,
  ffmpegEncodedFrames,
  openRtpWitness,
  probeH264File,
  splitRtp,
  waitForAnswerPorts,
  type RtpWitness,
} from '../support/cube-video-calls.js';
import { capture } from '../support/cucm-calls.js';
import { pcmuTone, toneInputArgs, toneRtpOutputArgs } from '../support/ffmpeg-tone.js';
import { failWithOutputs, outputsOf, spawnTracked, waitExit, type Spawned } from '../support/processes.js';
import { downloadRawRecords } from '../support/session-api.js';
import { startSipp } from '../support/sipp-process.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * SIPp plays a Cisco CUBE forking a video call to Verbatim with a dial-peer: one INVITE offering
 * two sendonly m=audio lines (PCMU) and two sendonly m=video lines (H.264), the participants named
 * per pair of lines by X-Cisco-Recording-Participant media-index "0 2" and "1 3". SIPp replays a
 * tone to the first audio line; one real ffmpeg process streams a second tone to the other audio
 * line and a test pattern encoded by libx264 to both video lines, as both parties of a video call
 * send video. The H.264 tracks must be stored as received: each ExportRaw capture is depacketised
 * (RFC 6184) back into an Annex-B stream that ffprobe decodes frame by frame.
 *
 * Every line carries media on purpose: Verbatim ends a session whose track received no packet at
 * all as CLOSED_ERROR ("track n: no media received"), video tracks included.
 */

const execFileAsync = promisify(execFile);
const SIPP_HZ = 500;
const FFMPEG_HZ = 1300;
const TONE_SECONDS = 3;
const VIDEO_SECONDS = 3;
const VIDEO_FPS = 15;
const VIDEO_WIDTH = 320;
const VIDEO_HEIGHT = 240;
const H264_PAYLOAD_TYPE = 126;
/** Constrained baseline, level 3.0, non-interleaved packetisation (RFC 6184 §8.1). */
const H264_FMTP = 'profile-level-id=42801E;packetization-mode=1';
/**
 * SIPp holds the call this long after the ACK. ffmpeg starts only once the answer is known, needs
 * a moment to start libx264 and then streams in real time (-re); the hold leaves room for all of
 * it on a loaded machine, so every packet ffmpeg sends arrives before the BYE.
 */
const HOLD_MS = 8000;

describe(
  'a CUBE dial-peer video fork recorded end to end (sipp as CUBE, ffmpeg H.264, verbatim serve)',
  { timeout: 120_000 },
  () => {
    let server: RunningServer;
    let work: string;
    let witness: RtpWitness | undefined;

    // The media timeout must exceed the silence of the lines between the end of their media and
    // the BYE, or the session would end as CLOSED_ERROR.
    serverForSuite('cube-video', { mediaTimeoutSeconds: 15 }, (suite) => {
      ({ server, work } = suite);
    });

    after(async () => {
      await witness?.close();
    });

    it('H.264 video lines become VIDEO tracks 2 and 3, stored as sent and decodable from ExportRaw', async () => {
      const ciscoGuid = randomCiscoGuid();
      const pcapPath = capture(work, 'cube-video-line0-pcmu', 'PCMU', SIPP_HZ, TONE_SECONDS);
      const sentCopy = await openRtpWitness();
      witness = sentCopy;
      let ffmpeg: Spawned | undefined;
      const { run, first: ports } = await startSipp(
        'sipp cube video',
        server,
        cubeVideoForkingScenario({
          ciscoGuid,
          participants: ['4155550123', '20417'],
          pcapPath,
          holdMs: HOLD_MS,
          videoPayloadType: H264_PAYLOAD_TYPE,
          h264Fmtp: H264_FMTP,
        }),
        { work },
        waitForAnswerPorts,
      );
      const outputs = (): string =>
        `answer ports: ${JSON.stringify(ports)}\n${outputsOf([run.sipp, ffmpeg])}`;
      const encoder = await failWithOutputs(
        () => [run.sipp, ffmpeg],
        async () => {
          const all = [...ports.audio, ...ports.video];
          for (const port of all) {
            assert.ok(
              port >= server.rtpRange.min && port <= server.rtpRange.max && port % 2 === 0,
              `answered port ${port} is even and in Verbatim's RTP range`,
            );
          }
          assert.equal(new Set(all).size, 4, 'each m= line is answered on a port of its own');

          // The tee muxer feeds one encoding to three RTP muxers: two send to Verbatim's video ports,
          // the third to the witness, which thereby sees exactly the payloads each video line got.
          const rtpSlave = (port: number, query: string): string =>
            `[f=rtp:payload_type=${H264_PAYLOAD_TYPE}]rtp://127.0.0.1:${port}?localaddr=127.0.0.1${query}`;
          const videoSlaves = [
            rtpSlave(ports.video[0], ''),
            rtpSlave(ports.video[1], ''),
            rtpSlave(sentCopy.port, `&rtcpport=${sentCopy.port}`),
          ];
          ffmpeg = spawnTracked('ffmpeg h264 + pcmu', 'ffmpeg', [
            '-hide_banner',
            '-nostdin',
            '-re',
            '-f',
            'lavfi',
            '-i',
            `testsrc=size=${VIDEO_WIDTH}x${VIDEO_HEIGHT}:rate=${VIDEO_FPS}:duration=${VIDEO_SECONDS}`,
            // pcmuTone: 20 ms per RTP packet, as the offer's ptime says.
            ...toneInputArgs(pcmuTone(FFMPEG_HZ, TONE_SECONDS)),
            '-map',
            '0:v',
            '-c:v',
            'libx264',
            '-profile:v',
            'baseline',
            '-tune',
            'zerolatency',
            '-pix_fmt',
            'yuv420p',
            '-f',
            'tee',
            videoSlaves.join('|'),
            '-map',
            '1:a',
            ...toneRtpOutputArgs(ports.audio[1], pcmuTone(FFMPEG_HZ, TONE_SECONDS)),
          ]);
          assert.equal(await waitExit(ffmpeg, 30_000), 0, 'ffmpeg exits 0');
          assert.equal(await waitExit(run.sipp, 45_000), 0, 'sipp exits 0');
          return ffmpeg;
        },
      );
      const videoPorts = ports.video;
      const encodedFrames = ffmpegEncodedFrames(encoder.output());
      assert.equal(encodedFrames, VIDEO_SECONDS * VIDEO_FPS, `ffmpeg encoded every frame\n${outputs()}`);
      const witnessed = splitRtp(sentCopy.packets);
      assert.ok(
        witnessed.length >= encodedFrames,
        `ffmpeg sent at least one packet per frame (${witnessed.length})`,
      );

      const session = (await findSessionByCcid(
        server,
        ciscoGuid,
        (s) => s.sessionState !== 'ACTIVE',
      )) as unknown as ApiSessionJson;
      const context = `session: ${JSON.stringify(session)}\n${outputs()}`;
      assert.equal(
        session.sessionState,
        'CLOSED_NORMAL',
        `${context}\n--- verbatim ---\n${server.process.output()}`,
      );
      assert.equal(session.callControllerType, 'Cisco-SIPGateway');
      assert.equal(session.ccid, ciscoGuid);
      assert.equal(session.undecodable, undefined, 'video tracks do not flag the session undecodable');
      assert.deepEqual(trackLayout(session.tracks), videoForkLayout('4155550123', '20417'), context);
      // 3 s of 20 ms packets on each audio line; on each video line every packet ffmpeg sent.
      assert.deepEqual(
        session.tracks.map((t) => [t.trackNumber, t.stats.packets, t.stats.lost]),
        [
          [0, TONE_SECONDS * 50, 0],
          [1, TONE_SECONDS * 50, 0],
          [2, witnessed.length, 0],
          [3, witnessed.length, 0],
        ],
        context,
      );

      for (const [index, trackNumber] of [2, 3].entries()) {
        const what = `track ${trackNumber}`;
        const records = await downloadRawRecords(server, session, trackNumber, what);
        assert.ok(
          records.every((r) => r.destinationPort === videoPorts[index]),
          `every record of ${what} was received on its own video line's port`,
        );

        const stored = splitRtp(records.map((r) => r.payload));
        assert.ok(
          stored.every((p) => p.header.payloadType === H264_PAYLOAD_TYPE),
          `every packet of ${what} has payload type ${H264_PAYLOAD_TYPE}`,
        );
        assert.equal(new Set(stored.map((p) => p.header.ssrc)).size, 1, `${what} has one RTP source`);
        const firstSequence = stored[0]?.header.sequenceNumber ?? 0;
        assert.ok(
          stored.every((p, i) => p.header.sequenceNumber === (firstSequence + i) % 65536),
          `${what}: sequence numbers are consecutive in file order, nothing lost or reordered`,
        );
        // Byte for byte what ffmpeg sent, compared with the witness's copy of the same packetisation.
        assert.equal(stored.length, witnessed.length, `${what} stores as many packets as ffmpeg sent`);
        const firstDifference = stored.findIndex(
          (p, i) => Buffer.compare(p.payload, witnessed[i]?.payload ?? new Uint8Array()) !== 0,
        );
        assert.equal(firstDifference, -1, `every payload of ${what} equals the payload ffmpeg sent`);
        assert.deepEqual(
          stored.map((p) => p.header.marker),
          witnessed.map((p) => p.header.marker),
          `${what} keeps the marker bits (the last packet of each frame)`,
        );

        const h264 = depacketiseH264(stored.map((p) => p.payload));
        assert.ok((h264.nalTypes.get(7) ?? 0) > 0, `${what} carries a sequence parameter set`);
        assert.ok((h264.nalTypes.get(8) ?? 0) > 0, `${what} carries a picture parameter set`);
        assert.ok((h264.nalTypes.get(5) ?? 0) > 0, `${what} carries an IDR picture`);
        const h264Path = join(work, `track${trackNumber}.h264`);
        await writeFile(h264Path, h264.annexB);
        const probe = await probeH264File(h264Path);
        assert.deepEqual(
          {
            codecName: probe.codecName,
            width: probe.width,
            height: probe.height,
            frames: probe.frames,
            errors: probe.errors,
          },
          { codecName: 'h264', width: VIDEO_WIDTH, height: VIDEO_HEIGHT, frames: encodedFrames, errors: '' },
          `ffprobe decodes every frame of ${what} (packetisation ${JSON.stringify(h264.packetisation)})`,
        );
      }

      // The MP4 (issue 12): both audio lines as AAC stereo, and the first video track's H.264 as
      // recorded, every frame at its place.
      const mp4 = await fetch(session.urls.mp4Url, {
        headers: { cookie: `JSESSIONID=${server.jsessionId}` },
      });
      assert.equal(mp4.status, 200, await mp4.clone().text());
      const mp4Path = join(work, 'video-call.mp4');
      await writeFile(mp4Path, Buffer.from(await mp4.arrayBuffer()));
      const { stdout } = await execFileAsync('ffprobe', [
        '-v',
        'error',
        '-count_frames',
        '-print_format',
        'json',
        '-show_streams',
        mp4Path,
      ]);
      const streams = (
        JSON.parse(stdout) as {
          streams: { codec_name: string; channels?: number; width?: number; nb_read_frames?: string }[];
        }
      ).streams;
      assert.deepEqual(streams.map((st) => [st.codec_name, st.channels ?? st.width]).sort(), [
        ['aac', 2],
        ['h264', VIDEO_WIDTH],
      ]);
      const videoFrames = Number(streams.find((st) => st.codec_name === 'h264')?.nb_read_frames);
      assert.equal(videoFrames, encodedFrames, 'every recorded frame is in the MP4');
    });
  },
);
