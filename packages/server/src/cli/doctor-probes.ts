import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { get } from 'node:http';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/**
 * Asks a port that is in use who holds it, the way its own clients would: SIP OPTIONS (UDP, TCP,
 * TLS), RTSP OPTIONS, HTTP getAPIVersion. A Verbatim node names itself in the answer (SIP and RTSP
 * `Server: Verbatim…`, getAPIVersion's productName), so `verbatim doctor` can report a port held by
 * the running node as such rather than as a conflict. Every probe gives up after PROBE_TIMEOUT_MS
 * and never throws: no answer means "not a Verbatim node, as far as we can tell".
 */

const PROBE_TIMEOUT_MS = 1500;
/** Enough of an answer to hold its headers. */
const MAX_ANSWER_BYTES = 65_536;

export type ProbeKind = 'sip-udp' | 'sip-tcp' | 'sip-tls' | 'rtsp' | 'http';

/** The address to reach a service listening on `bind`: a wildcard is reached on loopback. */
export function probeHost(bind: string): string {
  return bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
}

/** What a Verbatim node on `port` calls itself (`Verbatim/0.1.0`), or undefined. */
export async function identifyVerbatim(
  kind: ProbeKind,
  bind: string,
  port: number,
): Promise<string | undefined> {
  const host = probeHost(bind);
  switch (kind) {
    case 'http':
      return httpIdentity(host, port);
    case 'rtsp':
      return serverHeader(
        await streamAnswer(connectTcp({ host, port }), 'connect', 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n'),
      );
    case 'sip-tcp':
      return serverHeader(
        await streamAnswer(connectTcp({ host, port }), 'connect', sipOptions(host, port, 'TCP')),
      );
    case 'sip-tls':
      // Only who answers matters here, not whether its certificate is trusted (checked apart).
      return serverHeader(
        await streamAnswer(
          connectTls({
            host,
            port,
            rejectUnauthorized: false,
            ...(isIP(host) === 0 ? { servername: host } : {}),
          }),
          'secureConnect',
          sipOptions(host, port, 'TLS'),
        ),
      );
    case 'sip-udp':
      return serverHeader(await udpAnswer(host, port));
  }
}

function serverHeader(answer: string | undefined): string | undefined {
  const value = answer === undefined ? undefined : /^Server:[ \t]*(.+?)\r?$/im.exec(answer)?.[1]?.trim();
  return value?.startsWith('Verbatim') === true ? value : undefined;
}

function sipOptions(host: string, port: number, transport: 'UDP' | 'TCP' | 'TLS', localPort = 9): string {
  const token = randomBytes(8).toString('hex');
  const target = isIP(host) === 6 ? `[${host}]` : host;
  return [
    `OPTIONS sip:${target}:${port} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${target}:${localPort};branch=z9hG4bK${token};rport`,
    'Max-Forwards: 70',
    `From: <sip:doctor@verbatim.invalid>;tag=${token}`,
    `To: <sip:${target}:${port}>`,
    `Call-ID: ${token}@verbatim-doctor`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Sends `request` on a stream and collects the answer's head. */
function streamAnswer(
  socket: Socket,
  ready: 'connect' | 'secureConnect',
  request: string,
): Promise<string | undefined> {
  return new Promise((resolveAnswer) => {
    let answer = '';
    const done = (): void => {
      socket.destroy();
      resolveAnswer(answer === '' ? undefined : answer);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, done);
    socket.setEncoding('utf8');
    socket.once(ready, () => {
      socket.write(request);
    });
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n\r\n') || answer.length > MAX_ANSWER_BYTES) {
        done();
      }
    });
    socket.on('error', done);
    socket.on('end', done);
  });
}

function udpAnswer(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolveAnswer) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    let finished = false;
    const finish = (answer: string | undefined): void => {
      if (!finished) {
        finished = true;
        clearTimeout(timer);
        socket.close();
        resolveAnswer(answer);
      }
    };
    const timer = setTimeout(() => finish(undefined), PROBE_TIMEOUT_MS);
    socket.on('error', () => finish(undefined));
    socket.on('message', (message) => finish(message.toString('utf8')));
    socket.bind(0, host, () => {
      socket.send(sipOptions(host, port, 'UDP', socket.address().port), port, host);
    });
  });
}

/** productName and productVersion of getAPIVersion over plain HTTP (the port answers it under TLS too). */
function httpIdentity(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolveIdentity) => {
    const request = get(
      { host, port, path: '/ora/infoService/info/getAPIVersion', timeout: PROBE_TIMEOUT_MS },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < MAX_ANSWER_BYTES) {
            body += chunk;
          }
        });
        response.on('end', () => {
          try {
            const info = (
              JSON.parse(body) as { responseBody?: { productName?: unknown; productVersion?: unknown } }
            ).responseBody;
            resolveIdentity(
              info?.productName === 'Verbatim'
                ? `Verbatim/${typeof info.productVersion === 'string' ? info.productVersion : 'unknown'}`
                : undefined,
            );
          } catch {
            resolveIdentity(undefined);
          }
        });
        response.on('error', () => resolveIdentity(undefined));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolveIdentity(undefined));
  });
}
