import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDITED_SESSION_IDS, refusedCallNotes, sessionIdsDetail } from '../../../src/api/audit-targets.js';

void describe('refusedCallNotes: what a call refused for the role was after', () => {
  void it('names the target as the handlers do', () => {
    assert.deepEqual(refusedCallNotes({ sessionId: 'abc', tagName: 'x' }), { target: 'abc' });
    assert.deepEqual(refusedCallNotes({ username: 'dave', role: 'admin' }), { target: 'dave' });
    assert.deepEqual(refusedCallNotes({ subscriptionId: 'S1' }), { target: 'subscription S1' });
    assert.deepEqual(refusedCallNotes({ jobId: 7 }), { target: 'job 7' });
    assert.deepEqual(refusedCallNotes({ cidr: '10.0.0.0/8' }), { target: '10.0.0.0/8' });
    assert.deepEqual(refusedCallNotes({ SESSIONID: 'abc' }), { target: 'abc' }, 'names in any case');
  });

  void it('lists the sessions of a deletion, at the top level or in jobParameters', () => {
    assert.deepEqual(refusedCallNotes({ sessionIds: ['a', 'b'] }), {
      detail: { sessions: '2', sessionIds: 'a,b' },
    });
    assert.deepEqual(refusedCallNotes({ jobType: 'DELETE_SESSIONS', jobParameters: { sessionIds: ['a'] } }), {
      detail: { sessions: '1', sessionIds: 'a' },
    });
  });

  void it('takes nothing it cannot write plainly: no objects, no long texts, no junk in lists', () => {
    assert.deepEqual(refusedCallNotes(undefined), {});
    assert.deepEqual(refusedCallNotes('sessionId=abc'), {});
    assert.deepEqual(refusedCallNotes({ sessionId: { $ne: 1 } }), {});
    assert.deepEqual(refusedCallNotes({ sessionId: 'x'.repeat(201) }), {});
    assert.deepEqual(refusedCallNotes({ sessionId: '' }), {});
    assert.deepEqual(refusedCallNotes({ jobId: Number.NaN }), {});
    assert.deepEqual(refusedCallNotes({ sessionIds: [{}, null, 'a', 'b'.repeat(300)] }), {
      detail: { sessions: '1', sessionIds: 'a' },
    });
    assert.deepEqual(refusedCallNotes({ sessionIds: [[], {}] }), {});
  });
});

void describe('sessionIdsDetail', () => {
  void it('counts every session and lists the first ones', () => {
    const ids = Array.from({ length: AUDITED_SESSION_IDS + 5 }, (_, i) => `s${i}`);
    const detail = sessionIdsDetail(ids);
    assert.equal(detail['sessions'], String(AUDITED_SESSION_IDS + 5));
    assert.equal(detail['sessionIds'], `${ids.slice(0, AUDITED_SESSION_IDS).join(',')},…`);
  });
});
