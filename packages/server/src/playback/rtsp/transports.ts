import type { TransportSpec } from '../../protocol/rtsp/headers.js';
import type { RtspPlaySession } from './play-session.js';
import type { RtspConnection } from './rtsp-connection.js';
import { bindUdpPair, interleavedSink, udpSink, type PacketSink } from './stream-output.js';

/** The first offered transport the server serves: RTP/AVP unicast, interleaved or UDP, for play. */
export async function chooseSink(
  connection: RtspConnection,
  session: RtspPlaySession,
  offered: readonly TransportSpec[],
): Promise<PacketSink | undefined> {
  for (const spec of offered) {
    if (spec.profile !== 'RTP/AVP' || !spec.unicast || (spec.mode !== 'play' && spec.mode !== '')) {
      continue;
    }
    if (spec.lowerTransport === 'TCP') {
      const used = new Set([...session.streams.values()].flatMap((s) => channelsOf(s.sink.transport)));
      let channels = spec.interleaved;
      if (channels === undefined || used.has(channels[0]) || used.has(channels[1])) {
        let first = 0;
        while (used.has(first) || used.has(first + 1)) {
          first += 2;
        }
        channels = [first, first + 1];
      }
      return interleavedSink(connection, channels);
    }
    if (spec.clientPort !== undefined) {
      const pair = await bindUdpPair(connection.localAddress);
      // RTCP receiver reports from the client keep its session alive (RFC 2326 §12.37).
      pair.rtcp.on('message', (_message, remote) => {
        if (remote.address === connection.remoteAddress) {
          session.touch();
        }
      });
      return udpSink(pair, connection.remoteAddress, spec.clientPort);
    }
  }
  return undefined;
}

function channelsOf(transport: string): number[] {
  const match = /interleaved=(\d+)-(\d+)/.exec(transport);
  return match === null ? [] : [Number(match[1]), Number(match[2])];
}
