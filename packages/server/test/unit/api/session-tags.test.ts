import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  addUserTag,
  checkTagRequest,
  deleteUserTag,
  type TagRequest,
} from '../../../src/api/session-tags.js';
import type { VerbatimEvent } from '../../../src/model/events.js';
import { FakeRepository, sampleSession } from '../../support/fake-repository.js';

const NOW = 1_750_000_000_000;

function setUp(): {
  repository: FakeRepository;
  events: VerbatimEvent[];
  deps: Parameters<typeof addUserTag>[0];
} {
  const repository = new FakeRepository();
  const events: VerbatimEvent[] = [];
  return {
    repository,
    events,
    deps: { repository, events: { publish: (e) => events.push(e) }, now: () => NOW },
  };
}

function request(params: TagRequest): TagRequest {
  const checked = checkTagRequest(params);
  if (!checked.ok) {
    assert.fail(`unexpected failure ${JSON.stringify(checked.error)}`);
  }
  return checked.value;
}

void describe('addSessionTag / deleteSessionTag logic', () => {
  void it('refuses a blank name, a name over 255 characters and a user tag at offset 0 (4001)', () => {
    const cases: [TagRequest, RegExp][] = [
      [{ sessionId: 's1', tagName: '   ' }, /must not be blank/],
      [
        { sessionId: 's1', tagName: 'x'.repeat(256) },
        /at most 255 characters \(MAX_TAG_NAME_LENGTH\), got 256/,
      ],
      [{ sessionId: 's1', tagName: 'x', tagOffset: 0 }, /tagOffset 0 is not allowed/],
    ];
    for (const [params, detail] of cases) {
      const checked = checkTagRequest(params);
      assert.ok(!checked.ok, JSON.stringify(params));
      assert.equal(checked.error.responseCode, 4001);
      assert.match(checked.error.detail ?? '', detail);
    }
    assert.deepEqual(request({ sessionId: 's1', tagName: 'x'.repeat(255), tagOffset: 1 }), {
      sessionId: 's1',
      tagName: 'x'.repeat(255),
      tagOffset: 1,
    });
  });

  void it('adds a USER_DEFINED tag once and announces it once', async () => {
    const { repository, events, deps } = setUp();
    await repository.createSession(sampleSession({ sessionId: 's1', sessionState: 'ACTIVE' }));
    const first = await addUserTag(deps, request({ sessionId: 's1', tagName: 'Keep', tagOffset: 10 }));
    assert.ok(first.ok);
    const tag = { tagName: 'Keep', tagType: 'USER_DEFINED', tagCreateDate: NOW, tagOffset: 10 };
    assert.deepEqual(first.value.tags, [tag]);
    const again = await addUserTag(deps, request({ sessionId: 's1', tagName: 'KEEP', tagOffset: 10 }));
    assert.deepEqual(again, { ok: true, value: { tags: [] } });
    assert.deepEqual(repository.sessions.get('s1')?.tags, [tag]);
    assert.deepEqual(events, [
      { eventType: 'TAG_EVENT', eventAction: 'ADDED', sessionId: 's1', tag, at: NOW },
      { eventType: 'SESSION_EVENT', eventAction: 'UPDATED', sessionId: 's1', change: 'tags', at: NOW },
    ]);
  });

  void it('refuses an unknown session (4041) and a DELETED one (4042)', async () => {
    const { repository, events, deps } = setUp();
    await repository.createSession(sampleSession({ sessionId: 'gone', sessionState: 'DELETED' }));
    for (const change of [addUserTag, deleteUserTag]) {
      const unknown = await change(deps, request({ sessionId: 'nope', tagName: 'x' }));
      assert.ok(!unknown.ok);
      assert.equal(unknown.error.responseCode, 4041);
      const deleted = await change(deps, request({ sessionId: 'gone', tagName: 'x' }));
      assert.ok(!deleted.ok);
      assert.equal(deleted.error.responseCode, 4042);
    }
    assert.deepEqual(events, []);
  });

  void it('deletes user tags by name (any case), by offset when given, and announces each', async () => {
    const { repository, events, deps } = setUp();
    const base = sampleSession({ sessionId: 's1' });
    await repository.createSession({
      ...base,
      tags: [
        { tagName: 'Review', tagType: 'USER_DEFINED', tagCreateDate: 1 },
        { tagName: 'review', tagType: 'USER_DEFINED', tagCreateDate: 2, tagOffset: 50 },
        { tagName: 'Pause', tagType: 'SYSTEM_DEFINED', tagCreateDate: 3, tagOffset: 70 },
      ],
    });
    const atOffset = await deleteUserTag(
      deps,
      request({ sessionId: 's1', tagName: 'REVIEW', tagOffset: 50 }),
    );
    assert.ok(atOffset.ok);
    assert.deepEqual(
      atOffset.value.tags.map((t) => t.tagOffset),
      [50],
    );
    const rest = await deleteUserTag(deps, request({ sessionId: 's1', tagName: 'review' }));
    assert.ok(rest.ok);
    assert.deepEqual(
      events.map((e) =>
        e.eventType === 'TAG_EVENT' ? [e.eventAction, e.tag.tagName, e.tag.tagOffset] : [e.eventAction],
      ),
      [['DELETED', 'review', 50], ['UPDATED'], ['DELETED', 'Review', undefined], ['UPDATED']],
    );
    const none = await deleteUserTag(deps, request({ sessionId: 's1', tagName: 'review' }));
    assert.ok(!none.ok);
    assert.equal(none.error.responseCode, 4041);
    const system = await deleteUserTag(deps, request({ sessionId: 's1', tagName: 'pause' }));
    assert.ok(!system.ok);
    assert.equal(system.error.responseCode, 4042);
    assert.match(system.error.detail ?? '', /SYSTEM_DEFINED/);
    assert.deepEqual(
      repository.sessions.get('s1')?.tags.map((t) => t.tagName),
      ['Pause'],
    );
  });

  void it('refuses to delete a track-level system tag such as TrackInactive (4042)', async () => {
    const { repository, deps } = setUp();
    await repository.createSession(sampleSession({ sessionId: 's1' }));
    await repository.addTrackTag('s1', 1, {
      tagName: 'TrackInactive',
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: 1,
      tagOffset: 900,
    });
    const refused = await deleteUserTag(deps, request({ sessionId: 's1', tagName: 'trackinactive' }));
    assert.ok(!refused.ok);
    assert.equal(refused.error.responseCode, 4042);
    const elsewhere = await deleteUserTag(
      deps,
      request({ sessionId: 's1', tagName: 'TrackInactive', tagOffset: 5 }),
    );
    assert.ok(!elsewhere.ok);
    assert.equal(elsewhere.error.responseCode, 4041, 'no tag of that name at that offset');
  });
});
