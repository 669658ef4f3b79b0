import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { assertEveryCallClean, finishCucmBulk, startCucmBulk, type CucmBulk } from '../support/cucm-bulk.js';
import { seededRandom } from '../support/seeded-random.js';
import { junkDatagram, mutateSip, seedMessages } from '../support/sip-mutations.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 9, point 5: hostile input on every interface at once while a CUCM call records. Thousands
 * of mutated SIP messages over UDP and TCP, junk datagrams at every port of the media range, and
 * malformed API requests with and without credentials. The call's WAV must be clean, the node
 * alive and answering, nothing logged as an error, and nothing leaked: no file outside the data
 * folder's own, no data without valid credentials, no row an attacker wrote.
 */

const SEED = Number(process.env['VERBATIM_HOSTILE_SEED'] ?? 20261203);
const HELD: CucmBulk = { calls: 1, callsPerSecond: 1, toneSeconds: 12, marginMs: 1000 };
const SIP_OVER_UDP = 3000;
const TCP_CONNECTIONS = 40;
const JUNK_ROUNDS = 3;
/**
 * Warn lines the whole test may cause: one per session the mutations started and the node ended
 * (no media), and rate-limited lines per reason; never one per hostile message.
 */
const MAX_WARN_LINES = 300;
/** A file an attacker tries to create or read through path traversal. */
const CANARY = '/tmp/verbatim-canary';

let server: RunningServer;
let work: string;

function sendUdp(socket: Socket, message: Buffer, port: number): Promise<void> {
  return new Promise((resolve) => {
    socket.send(message, port, '127.0.0.1', () => {
      resolve();
    });
  });
}

async function floodSipOverUdp(
  random: () => number,
  seeds: readonly Buffer[],
  socket: Socket,
): Promise<void> {
  for (let i = 0; i < SIP_OVER_UDP; i++) {
    const message = mutateSip(random, seeds[Math.floor(random() * seeds.length)] as Buffer);
    // A UDP datagram holds at most 65,507 bytes; longer ones fail to send, which is no test.
    await sendUdp(socket, message.subarray(0, 65_000), server.sipPort);
    if (i % 100 === 99) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Each connection sends a few mutated messages back to back, then closes or is reset. */
async function floodSipOverTcp(random: () => number, seeds: readonly Buffer[]): Promise<void> {
  const connections = Array.from({ length: TCP_CONNECTIONS }, () => {
    const messages = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
      mutateSip(random, seeds[Math.floor(random() * seeds.length)] as Buffer),
    );
    const reset = random() < 0.3;
    return new Promise<void>((resolve) => {
      const socket = connect(server.sipPort, '127.0.0.1');
      socket.on('error', () => {
        resolve();
      });
      socket.on('close', () => {
        resolve();
      });
      socket.on('data', () => {
        // Answers are read and dropped.
      });
      socket.on('connect', () => {
        socket.write(Buffer.concat(messages), () => {
          if (reset) {
            socket.resetAndDestroy();
          } else {
            socket.end();
          }
        });
      });
      socket.setTimeout(5000, () => socket.destroy());
    });
  });
  await Promise.all(connections);
}

async function junkAtMediaPorts(random: () => number, socket: Socket): Promise<void> {
  for (let round = 0; round < JUNK_ROUNDS; round++) {
    for (let port = server.rtpRange.min; port <= server.rtpRange.max; port++) {
      await sendUdp(socket, junkDatagram(random), port);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface HostileRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly withCredentials: boolean;
}

function deepJson(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

function hostileRequests(random: () => number): HostileRequest[] {
  const window = {
    fieldName: 'sessionStartDate',
    fieldConditions: [{ fieldOperator: 'between', fieldValues: [0, Date.now() + 60_000] }],
  };
  const getSessions = '/ora/queryService/query/getSessions';
  const bodies = [
    '',
    '{',
    'null',
    '[]',
    '"text"',
    JSON.stringify({ requestParameters: 'x' }),
    JSON.stringify({ requestParameters: [{ fieldName: 'ccid' }] }),
    JSON.stringify({
      requestParameters: [
        window,
        { fieldName: 'ccid', fieldConditions: [{ fieldOperator: 'equals', fieldValues: ["x' OR '1'='1"] }] },
      ],
    }),
    JSON.stringify({
      requestParameters: [window, { fieldName: "ccid'; DROP TABLE sessions; --", fieldConditions: [] }],
    }),
    JSON.stringify({ requestParameters: [window], pageParameters: { offset: -5, limit: 1e12 } }),
    JSON.stringify({
      requestParameters: [window],
      sortParameters: { byFieldName: 'sessionId; DELETE FROM users', order: 'DESC' },
    }),
    `{"requestParameters":[{"fieldName":"ccid","fieldConditions":[{"fieldOperator":"equals","fieldValues":[${deepJson(10_000)}]}]}]}`,
    JSON.stringify({
      requestParameters: [
        window,
        {
          fieldName: 'ccid',
          fieldConditions: Array.from({ length: 10_000 }, (_, i) => ({
            fieldOperator: 'equals',
            fieldValues: [String(i)],
            paramConnector: 'OR',
          })),
        },
      ],
    }),
    JSON.stringify({ requestParameters: Array.from({ length: 8000 }, () => window) }),
    JSON.stringify({
      requestParameters: [
        window,
        {
          fieldName: 'ccid',
          fieldConditions: [{ fieldOperator: 'equals', fieldValues: ['x'.repeat(2_000_000)] }],
        },
      ],
    }),
    JSON.stringify({ requestParameters: { username: 'admin', password: { $ne: '' } } }),
  ];
  const paths = [
    '/recordedMedia/oramedia/wav/..%2F..%2F..%2F..%2Ftmp%2Fverbatim-canary.wav',
    '/recordedMedia/oramedia/wav/../../../../etc/passwd.wav',
    '/recordedMedia/oramedia/wav/%00.wav',
    '/mma/ExportRaw?recording=..%2F..%2F..%2Ftmp%2Fverbatim-canary-TRACK0',
    '/mma/ExportRaw?recording=x-TRACK99999999999999999999',
    '/mma/ExportRaw?recording[]=a&recording[]=b',
    '/ora/queryService/query/getSessionBySessionId?value=%27%20OR%201%3D1',
    '/ora/queryService/query/getSessionBySessionId?value=' + 'a'.repeat(100_000),
    '/ora/queryService/query/getAllActiveSessions?limit=-1',
    '/ora/infoService/info/getSystemTime?' + 'x=1&'.repeat(2000),
    '/ora/%2e%2e/%2e%2e/etc/passwd',
    '/metrics',
  ];
  const requests: HostileRequest[] = [];
  for (const withCredentials of [false, true]) {
    for (const body of bodies) {
      requests.push({
        method: 'POST',
        path: getSessions,
        body,
        contentType: 'application/json',
        withCredentials,
      });
    }
    for (const path of paths) {
      requests.push({ method: 'GET', path, withCredentials });
    }
    requests.push({
      method: 'POST',
      path: '/ora/authenticationService/authentication/signIn',
      body: JSON.stringify({ requestParameters: { username: "admin' --", password: 'x' } }),
      contentType: 'application/json',
      withCredentials,
    });
    requests.push({
      method: 'POST',
      path: getSessions,
      body: '<xml/>',
      contentType: 'application/xml',
      withCredentials,
    });
    requests.push({ method: 'DELETE', path: getSessions, withCredentials });
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(random() * 4000) }, () => Math.floor(random() * 256)),
      );
      requests.push({
        method: 'POST',
        path: getSessions,
        body: bytes.toString('latin1'),
        contentType: 'application/json',
        withCredentials,
      });
    }
  }
  return requests;
}

/** Each request answered, never with a server error; without credentials, never with data. */
async function sendHostileRequests(requests: readonly HostileRequest[]): Promise<string[]> {
  const faults: string[] = [];
  for (const request of requests) {
    const headers: Record<string, string> = {};
    if (request.withCredentials) {
      headers['cookie'] = `JSESSIONID=${server.jsessionId}`;
    } else if (request.path.length % 2 === 0) {
      headers['cookie'] = 'JSESSIONID=forged-session-id';
    }
    if (request.contentType !== undefined) {
      headers['content-type'] = request.contentType;
    }
    const what = `${request.method} ${request.path.slice(0, 80)} (${request.withCredentials ? 'signed in' : 'anonymous'}, body ${request.body?.slice(0, 60) ?? 'none'})`;
    let response: Response;
    try {
      response = await fetch(`${server.baseUrl}${request.path}`, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
    } catch (error) {
      faults.push(`${what}: no answer (${String(error)})`);
      continue;
    }
    const text = await response.text();
    if (response.status >= 500) {
      faults.push(`${what}: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
    if (/"responseCode":\s*5\d\d\d/.test(text)) {
      faults.push(`${what}: ${text.slice(0, 200)}`);
    }
    if (!request.withCredentials && request.path !== '/ora/authenticationService/authentication/signIn') {
      if (response.status === 200 && /"responseCode":\s*200[01]/.test(text)) {
        faults.push(`${what}: answered without credentials: ${text.slice(0, 200)}`);
      }
      if (/sessionId|RIFF|verbatim_/.test(text)) {
        faults.push(`${what}: data without credentials: ${text.slice(0, 200)}`);
      }
    }
  }
  return faults;
}

/** Every file in the data folder, relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        walk(path);
      } else {
        out.push(relative(dir, path));
      }
    }
  };
  walk(dir);
  return out;
}

describe('hostile input on every interface while a call records', { timeout: 240_000 }, () => {
  serverForSuite('hostile', { mediaTimeoutSeconds: 3, rtpPortCount: 400 }, (suite) => {
    ({ server, work } = suite);
  });

  it('records the call cleanly, stays up, logs no error and leaks nothing', async (t) => {
    rmSync(CANARY, { force: true });
    const random = seededRandom(SEED);
    t.diagnostic(`seed ${SEED} (replay with VERBATIM_HOSTILE_SEED=${SEED})`);
    const held = await startCucmBulk(server, work, 'held', HELD);
    await waitFor(
      async () => {
        const answer = await server.api('/ora/queryService/query/getAllActiveSessions');
        return JSON.stringify(answer.responseBody ?? {}).includes('"trackNumber":1');
      },
      { timeoutMs: 20_000, what: 'the held call recording both tracks' },
    );

    const sip = createSocket('udp4');
    const junk = createSocket('udp4');
    await Promise.all([
      new Promise<void>((resolve) => sip.bind(0, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => junk.bind(0, '127.0.0.1', resolve)),
    ]);
    sip.on('message', () => {
      // The node's answers are read and dropped.
    });
    const seeds = seedMessages(sip.address().port);
    let apiFaults: string[];
    try {
      [, , , apiFaults] = await Promise.all([
        floodSipOverUdp(random, seeds, sip),
        floodSipOverTcp(random, seeds),
        junkAtMediaPorts(random, junk),
        sendHostileRequests(hostileRequests(random)),
      ]);
    } finally {
      sip.close();
      junk.close();
    }

    await finishCucmBulk(held, HELD);
    await assertEveryCallClean(server, held.ccids, HELD.toneSeconds);
    assert.deepEqual(apiFaults, [], 'every malformed API request answered cleanly');

    // Alive and answering.
    assert.equal(server.process.child.exitCode, null, 'the node is running');
    const time = await server.api('/ora/infoService/info/getSystemTime');
    assert.equal(time.responseCode, 2000);

    // Nothing leaked: no file outside the data folder's own, no row an attacker wrote.
    assert.equal(existsSync(CANARY), false, `${CANARY} was never created`);
    const unexpected = filesUnder(server.dataDir).filter(
      (file) => !/^verbatim\.db(-wal|-shm)?$/.test(file) && !/^media\/[A-Za-z0-9/_.-]+\.pcap$/.test(file),
    );
    assert.deepEqual(unexpected, [], 'the data folder holds only the database and track files');
    const db = new Database(join(server.dataDir, 'verbatim.db'), { readonly: true, fileMustExist: true });
    try {
      const users = db.prepare('SELECT username FROM users').all() as { username: string }[];
      assert.deepEqual(
        users.map((u) => u.username),
        ['admin'],
        'no user added',
      );
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sessions'")
        .all();
      assert.equal(tables.length, 1, 'the sessions table is still there');
      assert.equal((db.prepare('PRAGMA quick_check').get() as { quick_check: string }).quick_check, 'ok');
    } finally {
      db.close();
    }

    // Logs fit the event: malformed input is counted and logged at warn, without a stack, a line
    // per reason now and then, not one per message.
    const lines = server.process.output().split('\n');
    const errors = lines.filter((line) => /"level":(50|60)/.test(line));
    assert.deepEqual(errors.slice(0, 10), [], `nothing logged as an error (${errors.length} lines)`);
    const stacks = lines.filter((line) => line.includes('"stack"'));
    assert.deepEqual(stacks.slice(0, 10), [], `no stack logged (${stacks.length} lines)`);
    const warnings = lines.filter((line) => line.includes('"level":40'));
    assert.ok(
      warnings.length <= MAX_WARN_LINES,
      `${warnings.length} warn lines for ${SIP_OVER_UDP} hostile datagrams, at most ${MAX_WARN_LINES}:\n${warnings.slice(0, 20).join('\n')}`,
    );
  });
});
