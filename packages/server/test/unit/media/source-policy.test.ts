import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { SourcePolicy } from '../../../src/media/source-policy.js';

void describe('SourcePolicy', () => {
  void it('latches onto the first accepted source and refuses every other address:port', () => {
    const policy = new SourcePolicy();
    assert.equal(policy.allows('10.0.0.1', 4000), true);
    policy.accept('10.0.0.1', 4000);
    assert.deepEqual(policy.current, { address: '10.0.0.1', port: 4000 });
    assert.equal(policy.allows('10.0.0.1', 4000), true);
    assert.equal(policy.allows('10.0.0.1', 4002), false);
    assert.equal(policy.allows('10.0.0.2', 4000), false);
  });

  void it('takes only the expected source once the SDP names it', () => {
    const policy = new SourcePolicy();
    policy.expect({ address: '10.0.0.5', port: 5000 });
    assert.equal(policy.allows('10.0.0.1', 4000), false);
    assert.equal(policy.allows('10.0.0.5', 5002), false);
    assert.equal(policy.allows('10.0.0.5', 5000), true);
  });

  void it('switches from a latched source to an expected one with another address (the SDP wins)', () => {
    const policy = new SourcePolicy();
    policy.accept('10.0.0.1', 4000);
    policy.expect({ address: '10.0.0.9', port: 6000 });
    assert.equal(policy.allows('10.0.0.1', 4000), false);
    assert.equal(policy.allows('10.0.0.9', 6000), true);
  });

  void it('keeps the latched port when the expected address is the latched one (NAT, asymmetric ports)', () => {
    const policy = new SourcePolicy();
    policy.accept('10.0.0.1', 4001);
    policy.expect({ address: '10.0.0.1', port: 4000 });
    assert.equal(policy.allows('10.0.0.1', 4001), true);
    assert.equal(policy.allows('10.0.0.1', 4000), false);
  });

  void it('moves to a new port when a later SDP changes the expected port', () => {
    const policy = new SourcePolicy();
    policy.expect({ address: '10.0.0.1', port: 4000 });
    policy.accept('10.0.0.1', 4000);
    policy.expect({ address: '10.0.0.1', port: 4100 });
    assert.equal(policy.allows('10.0.0.1', 4100), true);
    assert.equal(policy.allows('10.0.0.1', 4000), false);
  });

  void it('latches the port when the expected port is unknown (0)', () => {
    const policy = new SourcePolicy();
    policy.expect({ address: '10.0.0.1', port: 0 });
    assert.equal(policy.allows('10.0.0.2', 4000), false);
    assert.equal(policy.allows('10.0.0.1', 4000), true);
    policy.accept('10.0.0.1', 4000);
    assert.equal(policy.allows('10.0.0.1', 4002), false);
  });

  void it('keeps the current source when the expectation is withdrawn', () => {
    const policy = new SourcePolicy();
    policy.accept('10.0.0.1', 4000);
    policy.expect(undefined);
    assert.equal(policy.allows('10.0.0.2', 4000), false);
  });

  void it('compares IPv4 senders in their mapped form on a dual-stack socket', () => {
    const policy = new SourcePolicy(true);
    policy.expect({ address: '10.0.0.1', port: 4000 });
    assert.equal(policy.allows('::ffff:10.0.0.1', 4000), true);
  });

  it('learns the port again when told the sender moved (relearn), on the same address', () => {
    const policy = new SourcePolicy();
    policy.expect({ address: '10.0.0.7', port: 0 });
    policy.accept('10.0.0.7', 4000);
    assert.equal(policy.allows('10.0.0.7', 4002), false);
    policy.expect({ address: '10.0.0.7', port: 0 });
    assert.equal(policy.allows('10.0.0.7', 4002), false, 'a plain refresh keeps the latched port');
    policy.expect({ address: '10.0.0.7', port: 0, relearn: true });
    assert.equal(policy.allows('10.0.0.7', 4002), true);
    policy.accept('10.0.0.7', 4002);
    assert.equal(policy.allows('10.0.0.7', 4000), false);
    assert.equal(policy.allows('10.0.0.8', 4002), false);
  });
});
