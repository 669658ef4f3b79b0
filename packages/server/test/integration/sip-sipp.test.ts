import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SipServer } from '../../src/sip/sip-server.js';
import { spawnTracked, stopAll, waitExit } from '../support/processes.js';
import { acceptWithOffer, loopbackSipServer } from '../unit/sip/support/loopback-sip-server.js';

const sippInstalled = spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error === undefined;

describe(
  'SIP server against the sipp built-in UAC scenario',
  { skip: sippInstalled ? false : 'sipp is not installed (npm run test:tools)' },
  () => {
    let server: SipServer;
    let port = 0;
    let workDir = '';
    let acks = 0;
    let byes = 0;

    before(async () => {
      workDir = mkdtempSync(join(tmpdir(), 'verbatim-sipp-'));
      server = loopbackSipServer({
        onInvite: (invite) => acceptWithOffer(invite, { onAck: () => acks++, onBye: () => byes++ }),
      });
      port = (await server.start()).udpPort;
    });

    after(async () => {
      await stopAll();
      await server.close();
      rmSync(workDir, { recursive: true, force: true });
    });

    /** Runs one sipp call and resolves with its exit code and output (printed when it fails). */
    async function runSipp(transport: 'u1' | 't1'): Promise<{ code: number | string; output: string }> {
      const sipp = spawnTracked(
        'sipp uac',
        'sipp',
        [
          '-sn',
          'uac',
          '-m',
          '1',
          '-t',
          transport,
          '-i',
          '127.0.0.1',
          '-p',
          '0',
          '-timeout',
          '15s',
          '-timeout_error',
          '-nostdin',
          `127.0.0.1:${port}`,
        ],
        { cwd: workDir },
      );
      const code = await waitExit(sipp, 20_000);
      return { code, output: sipp.output() };
    }

    for (const transport of ['u1', 't1'] as const) {
      it(`completes INVITE/200/ACK/BYE over ${transport === 'u1' ? 'UDP' : 'TCP'} and sipp exits 0`, async () => {
        const acksBefore = acks;
        const byesBefore = byes;
        const { code, output } = await runSipp(transport);
        assert.equal(code, 0, `sipp failed:\n${output}`);
        assert.equal(acks, acksBefore + 1);
        assert.equal(byes, byesBefore + 1);
      });
    }
  },
);
