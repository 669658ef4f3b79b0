import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDepthExceeds, parseJsonBody } from '../../../src/api/json-body.js';
import { MAX_JSON_DEPTH } from '../../../src/api/request-limits.js';

void describe('request bodies as JSON', () => {
  void it('measures nesting without counting brackets inside strings', () => {
    assert.equal(jsonDepthExceeds('{"a":[[1]]}', 3), false);
    assert.equal(jsonDepthExceeds('{"a":[[1]]}', 2), true);
    assert.equal(jsonDepthExceeds('{"a":"[[[[[[\\"[[[["}', 1), false);
    assert.equal(jsonDepthExceeds('["\\\\",[[]]]', 2), true);
    assert.equal(jsonDepthExceeds('[]'.repeat(1000), 1), false);
  });

  void it('refuses 10,000 levels without recursing, and takes MAX_JSON_DEPTH', () => {
    const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    assert.deepEqual(parseJsonBody(nested(10_000)), {
      ok: false,
      error: {
        code: 'VERBATIM_ERR_API_JSON_TOO_DEEP',
        message: `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`,
      },
    });
    assert.equal(parseJsonBody(nested(MAX_JSON_DEPTH)).ok, true);
    assert.equal(parseJsonBody(nested(MAX_JSON_DEPTH + 1)).ok, false);
  });

  void it('reads blank text as no body and answers invalid JSON with a typed error', () => {
    assert.deepEqual(parseJsonBody(' \n'), { ok: true, value: undefined });
    assert.deepEqual(parseJsonBody('{"a":1}'), { ok: true, value: { a: 1 } });
    const bad = parseJsonBody('{"a":');
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'VERBATIM_ERR_API_MALFORMED_JSON');
    assert.match(bad.error.message, /^the body is not valid JSON: /);
  });
});
