import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeUdpTcpPort } from '../support/ports.js';
import { spawnTracked, stopAll, waitExit } from '../support/processes.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';

/**
 * Issue 4 point 7: while the media disk is critically full, INVITEs get 503 with Retry-After so
 * that the controller records on another node. `--storage-critical-percent 100` makes any real
 * disk critical (less than 100 % of it is free), so the node's own free-space check is exercised
 * on the real file system; sipp plays the call controller and must see the 503.
 */

// An early-offer INVITE that expects 503 with a Retry-After, then ACKs it in the same
// transaction ([branch-1]: the INVITE's branch, RFC 3261 §17.1.1.3).
const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="INVITE refused while storage is critical">
  <send retrans="500">
    <![CDATA[
      INVITE sip:record@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:2001@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:record@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:2001@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP[media_ip_type] [media_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendonly
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="503">
    <action>
      <ereg regexp="Retry-After: *[0-9]+" search_in="msg" check_it="true" assign_to="retry"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:record@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-1]
      From: <sip:2001@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:record@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <Reference variables="retry"/>
</scenario>
`;

describe('storage critical', () => {
  let server: RunningServer;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-storage-'));
    server = await startServer({ extraArgs: ['--storage-critical-percent', '100'] });
  });

  after(async () => {
    await server.stop();
    await stopAll();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses INVITEs with 503 and Retry-After, records nothing, and says why in the event log', async () => {
    const scenario = join(work, 'refused.xml');
    await writeFile(scenario, SCENARIO);
    const sipp = spawnTracked('sipp storage', 'sipp', [
      '-sf',
      scenario,
      '-m',
      '1',
      '-t',
      'u1',
      '-i',
      '127.0.0.1',
      '-p',
      String(await freeUdpTcpPort()),
      '-timeout',
      '20s',
      '-timeout_error',
      '-nostdin',
      `127.0.0.1:${server.sipPort}`,
    ]);
    assert.equal(await waitExit(sipp, 25_000), 0, sipp.output());

    const now = Date.now();
    const answer = await server.api('/ora/queryService/query/getSessions', {
      requestParameters: [
        {
          fieldName: 'sessionStartDate',
          fieldConditions: [{ fieldOperator: 'between', fieldValues: [now - 600_000, now + 60_000] }],
        },
      ],
    });
    assert.deepEqual(answer.responseBody?.sessions ?? [], []);
    const log = server.process.output();
    assert.match(log, /STORAGE_THRESHOLD_EVENT ENTER_CRITICAL_STORAGE_SPACE/);
    assert.match(log, /RECORDING_EVENT REJECTED/);
    assert.match(log, /storage critically full/);
  });
});
