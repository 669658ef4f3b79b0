import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cucmSessionKey, readCucmLeg } from '../../../src/recording/cucm-leg.js';
import { parseNameAddr } from '../../../src/protocol/sip/uri.js';

function paramsOf(from: string): ReadonlyMap<string, string | null> {
  const parsed = parseNameAddr(from);
  assert.ok(parsed.ok, `From must parse: ${from}`);
  return parsed.value.uri.params;
}

describe('readCucmLeg', () => {
  // intake-samples §1.2 (CUCM 11.5 → MediaSense).
  const near =
    '"SJ User 2" <sip:1001@10.48.38.5;x-nearend;x-refci=19301625;x-nearendclusterid=StandAloneCluster;x-nearenddevice=SEP6C416A369525;x-nearendaddr=1001;x-farendrefci=19301624;x-farendclusterid=StandAloneCluster;x-farenddevice=SEP38ED18552A12;x-farendaddr=1000>;tag=104958~e650e088-60ba-4195-8387-3dcc0127efdc-19301629';

  it('reads both parties from the From URI parameters of a near-end leg', () => {
    const leg = readCucmLeg(paramsOf(near));
    assert.deepEqual(leg, {
      stream: 'near',
      nearEnd: {
        address: '1001',
        device: 'SEP6C416A369525',
        refCi: '19301625',
        clusterId: 'StandAloneCluster',
      },
      farEnd: {
        address: '1000',
        device: 'SEP38ED18552A12',
        refCi: '19301624',
        clusterId: 'StandAloneCluster',
      },
    });
  });

  it('pairs the near-end and far-end INVITEs of one call under one key', () => {
    const far = near.replace('x-nearend;', 'x-farend;');
    const a = readCucmLeg(paramsOf(near));
    const b = readCucmLeg(paramsOf(far));
    assert.ok(a && b);
    assert.equal(b.stream, 'far');
    assert.equal(cucmSessionKey('10.48.38.5', a), cucmSessionKey('10.48.38.5', b));
  });

  it('keeps the NBR far-end guid and trunk device name (intake-samples §1.3)', () => {
    const leg = readCucmLeg(
      paramsOf(
        '<sip:+1234567890@10.107.28.14;x-nearend;x-refci=43358625;x-nearendclusterid=eu91;x-nearenddevice=LCP_47483708;x-nearendaddr=9876;x-farendrefci=43358624;x-farendclusterid=eu91;x-farenddevice=EU91BCUBE002-Trk;x-farendaddr=+1234567890;x-farendguid=694646BC1D2311E7A8D2826ACB31D85A>;tag=46365',
      ),
    );
    assert.ok(leg);
    assert.equal(leg.nearEnd.address, '9876');
    assert.equal(leg.farEnd.device, 'EU91BCUBE002-Trk');
    assert.equal(leg.farEnd.guid, '694646BC1D2311E7A8D2826ACB31D85A');
  });

  it('accepts the x-farrend typo of a replayed trace as a far-end hint (intake-samples §1.4)', () => {
    const leg = readCucmLeg(
      paramsOf(
        '<sip:4062@10.0.0.1;x-farrend;x-refci=82731258;x-farendrefci=82730980;x-farendaddr=8172710497>;tag=1',
      ),
    );
    assert.equal(leg?.stream, 'far');
  });

  it('is undefined for an ordinary From header', () => {
    assert.equal(readCucmLeg(paramsOf('"Alice" <sip:alice@example.com>;tag=1')), undefined);
  });
});
