import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { MAX_TAG_NAME_REGEX_LENGTH, parseTagNameRegEx } from '../../../src/events/tag-name-regex.js';

function matcher(source: string): (name: string) => boolean {
  const parsed = parseTagNameRegEx(source);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.matches;
}

function refusal(source: string): string {
  const parsed = parseTagNameRegEx(source);
  assert.ok(!parsed.ok, `${source} should be refused`);
  return parsed.reason;
}

void describe('parseTagNameRegEx', () => {
  void it('matches the whole tag name, as Java String.matches', () => {
    const m = matcher('Agent[0-9]+');
    assert.equal(m('Agent12'), true);
    assert.equal(m('Agent12x'), false);
    assert.equal(m('xAgent12'), false);
    const alternatives = matcher('Pause|Resume');
    assert.equal(alternatives('Pause'), true);
    assert.equal(alternatives('PauseResume'), false);
  });

  void it('honours a leading (?i) and is case-sensitive without it', () => {
    assert.equal(matcher('(?i)ccx:.*')('CCX:Escalate'), true);
    assert.equal(matcher('ccx:.*')('CCX:Escalate'), false);
  });

  void it('translates \\Q…\\E, \\A and \\z', () => {
    const quoted = matcher('\\Qa.b*\\E[0-9]');
    assert.equal(quoted('a.b*7'), true);
    assert.equal(quoted('axbb7'), false);
    assert.equal(matcher('\\AX\\z')('X'), true);
  });

  void it('refuses what could take exponential or long polynomial time', () => {
    for (const source of ['(a+)+', '(a*)*b', '(.*a){3}', '(a|a)*', '((ab)+)*', '(\\d+)+$', '(a|b)+']) {
      assert.match(refusal(source), /nested quantifiers/, source);
    }
    assert.match(refusal('.*.*.*.*x'), /more than 3 unbounded quantifiers/);
    assert.match(refusal('a?a?a?a?a?a?a?a?a?aaaaaaaaa'), /more than 8 optional quantifiers/);
    assert.match(refusal('(a)\\1'), /back-reference/);
  });

  void it('takes little time on the refused shapes’ cousins that remain', () => {
    const allowed = matcher('.*agent.*x.*');
    const name = 'a'.repeat(255);
    const start = performance.now();
    assert.equal(allowed(name), false);
    // A bound far above the expected microseconds, to catch a catastrophic case, not to time one.
    assert.ok(performance.now() - start < 1000);
  });

  void it('refuses Java forms JavaScript would read differently, and bad input', () => {
    assert.match(refusal('a*+'), /possessive/);
    assert.match(refusal('(?>a)'), /atomic/);
    assert.match(refusal('\\p{Alpha}+'), /\\p/);
    assert.match(refusal('[a-z&&[^e]]'), /intersection/);
    assert.match(refusal('a(?i)b'), /inline flags/);
    assert.match(refusal('(?x)a b'), /inline flags/);
    assert.match(refusal('[]a]'), /character class/);
    assert.match(refusal('(abc'), /unclosed \(/);
    assert.match(refusal('abc)'), /unbalanced/);
    assert.match(refusal('*a'), /nothing to repeat/);
    assert.match(refusal(''), /empty/);
    assert.match(refusal('a'.repeat(MAX_TAG_NAME_REGEX_LENGTH + 1)), /longer than 256/);
    assert.ok(parseTagNameRegEx('a'.repeat(MAX_TAG_NAME_REGEX_LENGTH)).ok);
  });
});
