import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  aorUserPart,
  normaliseAor,
  readLooseNameAddr,
  unquoteDisplayName,
} from '../../../../src/protocol/sip/aor.js';

describe('aorUserPart', () => {
  const cases: [string, string | undefined][] = [
    ['sip:1234@10.0.0.15', '1234'],
    ['sip:+15550100@example.com;user=phone', '+15550100'],
    ['sips:alice@example.com:5061', 'alice'],
    ['SIP:5550100@Example.COM', '5550100'],
    ['tel:+15550100;phone-context=example.com', '+15550100'],
    ['5083084809@172.16.198.55', '5083084809'],
    ['4055550198@198.51.100.150:5060', '4055550198'],
    ['7602922411', '7602922411'],
    ['EE5C7EF0', 'EE5C7EF0'],
    ['sip: 7774442214 @10.104.54.52', '7774442214'],
    ['  sip:2001@pbx  ', '2001'],
    ['"Ann" <sip:2001@pbx;transport=tcp>;tag=x', '2001'],
    ['sip:%2B15550100@example.com', '+15550100'],
    ['sip:bad%zzescape@example.com', 'bad%zzescape'],
    ['sip:user:secret@example.com', 'user'],
    ['sip:+1555;isup-oli=62@example.com', '+1555'],
    ['sip:192.0.2.1', undefined],
    ['sip:192.0.2.1:5060', undefined],
    ['', undefined],
  ];
  for (const [aor, want] of cases) {
    it(`"${aor}" -> ${String(want)}`, () => {
      assert.equal(aorUserPart(aor), want);
    });
  }
});

describe('readLooseNameAddr', () => {
  it('reads the URI and the unquoted display name of a name-addr', () => {
    assert.deepEqual(readLooseNameAddr('"Ann Lee" <sip:2001@pbx>;tag=1'), {
      displayName: 'Ann Lee',
      uri: 'sip:2001@pbx',
    });
  });

  it('reads an addr-spec up to its parameters, and a scheme-less one as sent', () => {
    assert.deepEqual(readLooseNameAddr('sip:2001@pbx;tag=1'), { uri: 'sip:2001@pbx' });
    assert.deepEqual(readLooseNameAddr('<5550100@10.0.0.1'), { uri: '5550100@10.0.0.1' });
  });

  it('has nothing for an empty URI', () => {
    assert.equal(readLooseNameAddr('"Ann" <>'), undefined);
    assert.equal(readLooseNameAddr(' ;tag=1'), undefined);
  });
});

describe('normaliseAor and unquoteDisplayName', () => {
  it('compare AORs without blanks or case', () => {
    assert.equal(normaliseAor(' SIP:ASBCE @asbce.com '), 'sip:asbce@asbce.com');
  });

  it('unquote a display name only when both quotes are there', () => {
    assert.equal(unquoteDisplayName(' " Ann " '), 'Ann');
    assert.equal(unquoteDisplayName('"Ann'), '"Ann');
  });
});
