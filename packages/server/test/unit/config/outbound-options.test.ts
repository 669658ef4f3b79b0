import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../../src/config/config.js';
import { formatConfigProblems, loadConfig, type LoadConfigInput } from '../../../src/config/load.js';

const host = { hostname: () => 'rec-node-1', networkInterfaces: () => ({}) };

function load(input: Partial<LoadConfigInput>): ReturnType<typeof loadConfig> {
  return loadConfig({ flags: { bind: '192.0.2.10' }, env: {}, cwd: '/srv/verbatim', host, ...input });
}

function loaded(input: Partial<LoadConfigInput>): Config {
  const result = load(input);
  if (!result.ok) {
    assert.fail(`expected a config, got:\n${formatConfigProblems(result.error)}`);
  }
  return result.value;
}

void describe('outbound recording options', () => {
  void it('are off without --outbound-proxy', () => {
    assert.equal(loaded({}).outbound, undefined);
  });

  void it('read the proxy URI: host, port, transport (UDP by default, TLS for sips)', () => {
    const cases: [string, { protocol: string; host: string; port: number }][] = [
      ['sip:10.0.0.5', { protocol: 'udp', host: '10.0.0.5', port: 5060 }],
      ['sip:10.0.0.5:5070;transport=TCP', { protocol: 'tcp', host: '10.0.0.5', port: 5070 }],
      ['sip:cucm.example.com;transport=tls', { protocol: 'tls', host: 'cucm.example.com', port: 5061 }],
      ['sips:[2001:db8::5]:5063', { protocol: 'tls', host: '2001:db8::5', port: 5063 }],
    ];
    for (const [uri, expected] of cases) {
      const outbound = loaded({ flags: { bind: '192.0.2.10', 'outbound-proxy': uri } }).outbound;
      assert.deepEqual(outbound?.proxy, { uri, ...expected }, uri);
      assert.equal(outbound.answerTimeoutMs, 30_000);
      assert.equal(outbound.credentials, undefined);
    }
  });

  void it('take the credentials from the flag and the environment, and the answer timeout in seconds', () => {
    const outbound = loaded({
      flags: { bind: '192.0.2.10', 'outbound-proxy': 'sip:10.0.0.5', 'outbound-answer-timeout': '12' },
      env: { VERBATIM_OUTBOUND_USERNAME: 'verbatim', VERBATIM_OUTBOUND_PASSWORD: 's3cret' },
    }).outbound;
    assert.deepEqual(outbound?.credentials, { username: 'verbatim', password: 's3cret' });
    assert.equal(outbound.answerTimeoutMs, 12_000);
  });

  void it('refuse a proxy that is not a SIP URI, an unknown transport and a bad timeout, never echoing the password', () => {
    const result = load({
      flags: { bind: '192.0.2.10', 'outbound-proxy': 'http://10.0.0.5', 'outbound-answer-timeout': '0' },
      env: { VERBATIM_OUTBOUND_PASSWORD: '12' },
    });
    assert.ok(!result.ok);
    const text = formatConfigProblems(result.error);
    assert.match(text, /is not a SIP URI/);
    assert.match(text, /not a number of seconds \(1-180\)/);
    const transport = load({
      flags: { bind: '192.0.2.10', 'outbound-proxy': 'sip:10.0.0.5;transport=sctp' },
    });
    assert.ok(!transport.ok);
    assert.match(formatConfigProblems(transport.error), /transport sctp is not udp, tcp or tls/);
  });

  void it('refuse credentials without the proxy, and a password without a user name', () => {
    const noProxy = load({ flags: { bind: '192.0.2.10', 'outbound-username': 'rec' } });
    assert.ok(!noProxy.ok);
    assert.deepEqual(
      noProxy.error.map((p) => [p.code, p.message]),
      [['VERBATIM_ERR_CONFIG_CONFLICT', '--outbound-username: is set but --outbound-proxy is not']],
    );
    const noUser = load({
      flags: { bind: '192.0.2.10', 'outbound-proxy': 'sip:10.0.0.5' },
      env: { VERBATIM_OUTBOUND_PASSWORD: 'secret-value' },
    });
    assert.ok(!noUser.ok);
    const text = formatConfigProblems(noUser.error);
    assert.match(text, /VERBATIM_OUTBOUND_PASSWORD: is set but --outbound-username is not/);
    assert.doesNotMatch(text, /secret-value/, 'the password is never echoed');
  });
});
