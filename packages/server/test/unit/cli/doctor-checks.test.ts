import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkCertificate,
  checkClock,
  checkDataDir,
  checkDatabase,
  checkDisk,
  checkFileDescriptors,
  checkPort,
  checkRtpRange,
  checkTool,
  doctorExitCode,
  rtpPairs,
  type CheckResult,
  type PortFact,
} from '../../../src/cli/doctor-checks.js';
import { callsAllowedBy, parseOpenFilesLimit } from '../../../src/media/fd-budget.js';

// The judgement of `verbatim doctor` on injected facts: every machine state without the machine.

const NOW = Date.parse('2026-12-04T12:00:00Z');
const DAY = 86_400_000;
const MIB = 1024 * 1024;

const sipUdp = (outcome: PortFact['outcome'], port = 5060): PortFact => ({
  id: 'sip-udp',
  label: 'SIP',
  protocol: 'udp',
  bind: '0.0.0.0',
  port,
  outcome,
  option: '--sip-port',
});

function disk(usedPercent: number, inodeUsedPercent = 1, criticalFreePercent = 10): CheckResult[] {
  return checkDisk({
    path: '/srv/media',
    totalBytes: 100 * MIB,
    availableBytes: (100 - usedPercent) * MIB,
    totalInodes: 1000,
    freeInodes: 1000 - inodeUsedPercent * 10,
    criticalFreePercent,
  });
}

void describe('doctor checks', () => {
  void it('a free port is ok; one in use is a problem naming the port and the option', () => {
    assert.equal(checkPort(sipUdp('free'), undefined).status, 'ok');
    const busy = checkPort(sipUdp('in-use'), undefined);
    assert.equal(busy.status, 'problem');
    assert.match(busy.message, /UDP 0\.0\.0\.0:5060: in use/);
    assert.match(busy.fix ?? '', /--sip-port/);
  });

  void it('a port held by the running Verbatim node is ok and says so', () => {
    const held = checkPort({ ...sipUdp('in-use'), heldBy: 'Verbatim/0.1.0' }, { identity: 'Verbatim/0.1.0' });
    assert.equal(held.status, 'ok');
    assert.match(held.message, /running Verbatim node \(Verbatim\/0\.1\.0\)/);
    // A node runs, but this port answered as something else: maybe another program.
    const other = checkPort(sipUdp('in-use'), { identity: 'Verbatim/0.1.0' });
    assert.equal(other.status, 'warning');
    assert.match(other.message, /did not answer as Verbatim/);
  });

  void it('no permission, a foreign address and a turned-off service', () => {
    assert.match(checkPort(sipUdp('no-permission', 80), undefined).fix ?? '', /CAP_NET_BIND_SERVICE/);
    assert.equal(checkPort(sipUdp('no-address'), undefined).status, 'problem');
    const off = checkPort(sipUdp('free', 0), undefined);
    assert.equal(off.status, 'ok');
    assert.match(off.message, /turned off/);
  });

  void it('the RTP range: pairs as the allocator counts them, too small for --max-sessions, foreign sockets', () => {
    assert.equal(rtpPairs(32768, 61000), 14116);
    assert.equal(rtpPairs(10001, 10004), 1);
    assert.equal(rtpPairs(10001, 10002), 0);
    const small = checkRtpRange({ min: 20000, max: 20099, portsInUse: [], maxSessions: 2000 }, undefined);
    assert.deepEqual(
      small.map((r) => r.status),
      ['warning', 'ok'],
    );
    assert.match(small[0]?.message ?? '', /50 RTP\/RTCP pairs, enough for 25 calls/);
    const foreign = checkRtpRange(
      { min: 20000, max: 20099, portsInUse: [20010], maxSessions: 10 },
      undefined,
    );
    assert.equal(foreign[1]?.status, 'warning');
    assert.match(foreign[1].message, /20010/);
    const node = checkRtpRange(
      { min: 20000, max: 20099, portsInUse: [20010], maxSessions: 10 },
      { identity: 'Verbatim/1' },
    );
    assert.equal(node[1]?.status, 'ok');
    assert.equal(
      checkRtpRange({ min: 20000, max: 20099, portsInUse: undefined, maxSessions: 10 }, undefined)[1]?.status,
      'warning',
    );
  });

  void it('disk use against LOW 75 %, CRITICAL 90 % and EMERGENCY 99 %', () => {
    assert.equal(disk(74)[0]?.status, 'ok');
    const low = disk(75)[0];
    assert.equal(low?.status, 'warning');
    assert.match(low.message, /LOW threshold \(75 % used\)/);
    const critical = disk(92)[0];
    assert.equal(critical?.status, 'problem');
    assert.match(critical.message, /CRITICAL threshold \(90 % used\)/);
    assert.match(disk(99.5)[0]?.message ?? '', /EMERGENCY threshold \(99 % used\)/);
    assert.match(disk(99.5)[0]?.message ?? '', /512\.0 KiB free of 100\.0 MiB/);
  });

  void it('inodes are judged like space; a file system without an inode count is ok', () => {
    const inodes = disk(10, 95)[1];
    assert.equal(inodes?.status, 'problem');
    assert.match(inodes.message, /inodes: 50 free of 1000/);
    const btrfs = checkDisk({
      path: '/',
      totalBytes: 100,
      availableBytes: 50,
      totalInodes: 0,
      freeInodes: 0,
      criticalFreePercent: 0,
    });
    assert.equal(btrfs[1]?.status, 'ok');
  });

  void it('--storage-critical-percent moves the CRITICAL threshold, as it does in serve; 0 turns it off', () => {
    const refused = disk(60, 1, 50)[0];
    assert.equal(refused?.status, 'problem');
    assert.match(refused.message, /CRITICAL threshold \(50 % used\): the oldest recordings are pruned/);
    assert.equal(disk(95, 1, 0)[0]?.status, 'warning', 'no CRITICAL: LOW until EMERGENCY');
    assert.equal(disk(99.5, 1, 0)[0]?.status, 'problem');
  });

  void it('an unreadable partition is a problem', () => {
    assert.equal(checkDisk({ path: '/x', error: 'EIO' })[0]?.status, 'problem');
  });

  void it('the fd limit: calls it allows under the hard limit, against --max-sessions', () => {
    assert.equal(callsAllowedBy(1024), 128);
    assert.equal(callsAllowedBy(100), 0);
    assert.equal(callsAllowedBy(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
    const fine = checkFileDescriptors({ soft: 1024, hard: 1_048_576 }, 2000);
    assert.equal(fine.status, 'ok');
    assert.match(fine.message, /soft 1024, hard 1048576/);
    assert.match(fine.message, /174720 concurrent calls fit \(6 descriptors a call/);
    const few = checkFileDescriptors({ soft: 1024, hard: 4096 }, 2000);
    assert.equal(few.status, 'warning');
    assert.match(few.message, /640 concurrent calls fit/);
    assert.match(few.fix ?? '', /LimitNOFILE=65536/);
    assert.equal(checkFileDescriptors({ soft: 200, hard: 200 }, 10).status, 'problem');
    assert.equal(checkFileDescriptors(undefined, 10).status, 'warning');
    assert.match(
      checkFileDescriptors({ soft: Infinity, hard: Infinity }, 10).message,
      /unlimited concurrent calls/,
    );
  });

  void it('parses /proc/self/limits', () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max processes             63382                63382                processes \n' +
      'Max open files            1024                 524288               files     \n';
    assert.deepEqual(parseOpenFilesLimit(text), { soft: 1024, hard: 524288 });
    assert.deepEqual(parseOpenFilesLimit('Max open files  unlimited  unlimited  files\n'), {
      soft: Infinity,
      hard: Infinity,
    });
    assert.equal(parseOpenFilesLimit('nothing here'), undefined);
    assert.equal(parseOpenFilesLimit('Max open files  lots  more  files'), undefined);
  });

  void it('ffmpeg missing is a problem, ffprobe missing a warning, missing codecs a warning', () => {
    assert.equal(checkTool({ name: 'ffmpeg', error: 'not on the PATH' }).status, 'problem');
    assert.equal(checkTool({ name: 'ffprobe', error: 'not on the PATH' }).status, 'warning');
    const noAac = checkTool({
      name: 'ffmpeg',
      version: 'ffmpeg version 5',
      missingCodecs: ['the AAC encoder'],
    });
    assert.equal(noAac.status, 'warning');
    assert.match(noAac.message, /AAC/);
    assert.equal(checkTool({ name: 'ffmpeg', version: 'ffmpeg version 5', missingCodecs: [] }).status, 'ok');
  });

  void it('the database: absent is ok, pending migrations and a failed integrity check are problems', () => {
    assert.equal(checkDatabase({ kind: 'absent', where: 'sqlite:x' })[0]?.status, 'ok');
    const pending = checkDatabase({
      kind: 'opened',
      where: 'sqlite:x',
      pending: ['0012-user'],
      integrity: [],
    });
    assert.deepEqual(
      pending.map((r) => r.status),
      ['problem', 'ok'],
    );
    assert.match(pending[0]?.fix ?? '', /verbatim migrate/);
    const corrupt = checkDatabase({
      kind: 'opened',
      where: 'sqlite:x',
      pending: [],
      integrity: ['row 3 missing'],
    });
    assert.deepEqual(
      corrupt.map((r) => r.status),
      ['ok', 'problem'],
    );
    assert.equal(
      checkDatabase({ kind: 'unreadable', where: 'sqlite:x', error: 'not a database' })[0]?.status,
      'problem',
    );
  });

  void it('the certificate: expired, not yet valid, expiring soon, mismatched key, names', () => {
    const read = {
      kind: 'read' as const,
      certPath: '/d/tls/server.crt',
      notBeforeMs: NOW - 10 * DAY,
      notAfterMs: NOW + 400 * DAY,
      keyMatches: true,
      advertise: '10.0.0.5',
      namesAdvertise: true,
      keyExposed: false,
    };
    assert.ok(checkCertificate(read, NOW).every((r) => r.status === 'ok'));
    const expired = checkCertificate({ ...read, notAfterMs: NOW - DAY }, NOW)[0];
    assert.equal(expired?.status, 'problem');
    assert.match(expired.message, /expired on 2026-12-03/);
    assert.equal(checkCertificate({ ...read, notBeforeMs: NOW + DAY }, NOW)[0]?.status, 'problem');
    const soon = checkCertificate({ ...read, notAfterMs: NOW + 10 * DAY }, NOW)[0];
    assert.equal(soon?.status, 'warning');
    assert.match(soon.message, /in 10 day/);
    const mismatch = checkCertificate({ ...read, keyMatches: false }, NOW);
    assert.equal(mismatch.find((r) => r.id === 'tls.key')?.status, 'problem');
    const names = checkCertificate({ ...read, namesAdvertise: false }, NOW);
    assert.equal(names.find((r) => r.id === 'tls.names')?.status, 'warning');
    assert.equal(
      checkCertificate({ ...read, keyExposed: true }, NOW).find((r) => r.id === 'tls.key-mode')?.status,
      'warning',
    );
    assert.equal(checkCertificate({ kind: 'absent', dir: '/d/tls' }, NOW)[0]?.status, 'ok');
    assert.equal(
      checkCertificate(
        { kind: 'incomplete', present: '/d/tls/server.key', missing: '/d/tls/server.crt' },
        NOW,
      )[0]?.status,
      'problem',
    );
  });

  void it('the clock is a warning at worst', () => {
    assert.equal(checkClock({ synchronized: true, source: 'timedatectl' }).status, 'ok');
    assert.equal(checkClock({ synchronized: false, source: 'timedatectl' }).status, 'warning');
    assert.equal(checkClock({ synchronized: undefined }).status, 'warning');
  });

  void it('the data directory', () => {
    assert.equal(checkDataDir({ kind: 'writable', path: '/d' }).status, 'ok');
    assert.equal(checkDataDir({ kind: 'absent', path: '/d', parent: '/', creatable: true }).status, 'ok');
    assert.equal(
      checkDataDir({ kind: 'absent', path: '/d', parent: '/', creatable: false }).status,
      'problem',
    );
    assert.equal(checkDataDir({ kind: 'not-writable', path: '/d', error: 'EROFS' }).status, 'problem');
    assert.equal(checkDataDir({ kind: 'not-a-directory', path: '/d' }).status, 'problem');
  });

  void it('exit status: 1 for a problem, 0 for warnings alone', () => {
    const w: CheckResult = { id: 'a', status: 'warning', message: '' };
    const p: CheckResult = { id: 'b', status: 'problem', message: '' };
    assert.equal(doctorExitCode([w]), 0);
    assert.equal(doctorExitCode([w, p]), 1);
    assert.equal(doctorExitCode([]), 0);
  });
});
