import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ActiveCallsHistory } from '../../../src/api/node-status-routes.js';
import { TrustedPeers } from '../../../src/api/trusted-peers.js';
import type { TrustedPeer } from '../../../src/model/trusted-peer.js';
import { FakeRepository } from '../../support/fake-repository.js';

/** The live list the SIP intake asks (api/trusted-peers.ts) and the calls-now samples. */
void describe('TrustedPeers', () => {
  void it('trusts the union of --trusted-peers and the stored blocks', async () => {
    const store = new FakeRepository();
    await store.addTrustedPeer({ cidr: '192.0.2.0/24', note: '', addedAt: 1, addedBy: 'admin' });
    const peers = new TrustedPeers({ configured: ['10.0.0.0/8'], store, now: () => 5 });
    assert.equal(peers.isTrusted('192.0.2.7'), false, 'nothing stored is trusted before the first load');
    await peers.load();
    assert.equal(peers.isTrusted('10.9.9.9'), true);
    assert.equal(peers.isTrusted('192.0.2.7'), true);
    assert.equal(peers.isTrusted('::ffff:192.0.2.7'), true);
    assert.equal(peers.isTrusted('198.51.100.1'), false);
    assert.equal(peers.isTrusted('not an address'), false);
  });

  void it('adds in canonical form, refuses a duplicate spelling, removes by any spelling', async () => {
    const store = new FakeRepository();
    const peers = new TrustedPeers({ configured: ['10.1.2.3/8'], store, now: () => 42 });
    await peers.load();
    const added = await peers.add('2001:DB8:0::/32', ' lab ', 'ann');
    assert.deepEqual(added, {
      ok: true,
      peer: { cidr: '2001:db8::/32', note: 'lab', addedAt: 42, addedBy: 'ann' },
    });
    assert.equal(peers.isTrusted('2001:db8::1'), true);
    const again = await peers.add('2001:db8::/32', '', 'ann');
    assert.ok(!again.ok);
    assert.equal(again.reason, 'exists');
    const removed = await peers.remove('2001:0db8::/32');
    assert.equal(removed.ok, true);
    assert.equal(peers.isTrusted('2001:db8::1'), false);
    // A block of the option, even as written with host bits: not removable here, and said so.
    const configured = await peers.remove('10.0.0.0/8');
    assert.ok(!configured.ok);
    assert.match(configured.detail, /--trusted-peers/);
    assert.equal(peers.isTrusted('10.200.0.1'), true);
  });

  void it('applies only the latest of overlapping loads, so a slow read never undoes a change', async () => {
    const rows: TrustedPeer[] = [];
    const pending: (() => void)[] = [];
    // Each read takes the table as it is when it starts, and answers when released.
    const store = {
      listTrustedPeers: () => {
        const snapshot = [...rows];
        return new Promise<TrustedPeer[]>((resolve) => pending.push(() => resolve(snapshot)));
      },
      addTrustedPeer: (peer: TrustedPeer) => {
        rows.push(peer);
        return Promise.resolve(true);
      },
      removeTrustedPeer: () => Promise.resolve(undefined),
    };
    const peers = new TrustedPeers({ configured: [], store, now: () => 1 });
    const stale = peers.load(); // reads an empty table
    rows.push({ cidr: '127.0.0.0/8', note: '', addedAt: 1, addedBy: 'admin' });
    const fresh = peers.load(); // reads the added block
    pending[1]?.();
    await fresh;
    pending[0]?.();
    await stale;
    assert.equal(peers.isTrusted('127.0.0.1'), true);
  });
});

void describe('ActiveCallsHistory', () => {
  void it('keeps the peak of each minute, for a day', () => {
    let now = 1_000 * 60_000;
    let active = 2;
    const history = new ActiveCallsHistory(
      () => active,
      () => now,
    );
    history.sample();
    active = 5;
    now += 10_000;
    history.sample();
    active = 1;
    now += 10_000;
    history.sample();
    assert.deepEqual(history.minutes, [{ minute: 1_000 * 60_000, peak: 5 }]);
    now += 60_000;
    history.sample();
    assert.equal(history.minutes.length, 2);
    now += 24 * 3_600_000;
    history.sample();
    assert.deepEqual(history.minutes, [{ minute: now - (now % 60_000), peak: 1 }]);
  });
});
