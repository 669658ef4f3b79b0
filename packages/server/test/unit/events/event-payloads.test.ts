import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { sessionJson } from '../../../src/api/session-json.js';
import {
  eventTypeNameOf,
  renderEventPayload,
  type PayloadContext,
} from '../../../src/events/event-payloads.js';
import { sampleSession } from '../../support/fake-repository.js';

const context: PayloadContext = {
  formatSession: (session) =>
    sessionJson(session, { advertise: '10.0.0.9', httpPort: 8440, rtspPort: 8554, tls: true }),
  nodeIpAddress: '10.0.0.9',
};

void describe('event payloads (reference §8.3)', () => {
  void it('renders a tag event byte for byte', () => {
    const text = renderEventPayload(
      {
        eventType: 'TAG_EVENT',
        eventAction: 'ADDED',
        sessionId: '4c1316d0fb8771',
        tag: {
          tagName: 'TrackInactive',
          tagType: 'SYSTEM_DEFINED',
          tagCreateDate: 1311794793568,
          tagOffset: 21232,
          trackNumber: 0,
        },
        at: 0,
      },
      context,
      undefined,
    );
    assert.equal(
      text,
      '{"eventType":"TAG_EVENT","eventAction":"ADDED","forwardedEvent":"FALSE","eventBody":{"sessionId":"4c1316d0fb8771","tagName":"TrackInactive","tagType":"SYSTEM_DEFINED","tagCreateDate":1311794793568,"tagOffset":21232,"trackNumber":0}}',
    );
  });

  void it('renders a storage threshold event in its documented shape', () => {
    const text = renderEventPayload(
      {
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'ENTER_CRITICAL_STORAGE_SPACE',
        nodeId: 'rec-1',
        partition: '/common',
        percentageUtilization: 70,
        at: 0,
      },
      context,
      undefined,
    );
    assert.equal(
      text,
      '{"eventType":"STORAGE_THRESHOLD_EVENT","eventAction":"ENTER_CRITICAL_STORAGE_SPACE","forwardedEvent":"FALSE","eventBody":{"nodeId":"rec-1","nodeIPAddress":"10.0.0.9","partition":"/common","percentageUtilization":70}}',
    );
  });

  void it('batches DELETED and PRUNED session ids', () => {
    for (const eventAction of ['DELETED', 'PRUNED'] as const) {
      const text = renderEventPayload(
        eventAction === 'DELETED'
          ? { eventType: 'SESSION_EVENT', eventAction, sessionIds: ['a', 'b'], jobId: 1, at: 0 }
          : { eventType: 'SESSION_EVENT', eventAction, sessionIds: ['a', 'b'], at: 0 },
        context,
        undefined,
      );
      assert.equal(
        text,
        `{"eventType":"SESSION_EVENT","eventAction":"${eventAction}","forwardedEvent":"FALSE","eventBody":{"sessionIds":["a","b"]}}`,
      );
    }
  });

  void it('carries the sessionId and the whole session; downloadUrl once it is closed', () => {
    const active = sampleSession({ sessionId: '4c1316d0fb8771', sessionState: 'ACTIVE' });
    const started = JSON.parse(
      renderEventPayload(
        { eventType: 'SESSION_EVENT', eventAction: 'STARTED', sessionId: active.sessionId, at: 0 },
        context,
        active,
      ),
    ) as { eventBody: Record<string, unknown> };
    // The keys of the reference's STARTED example (EVT-XI), with the scalar sessionId first.
    const body = started.eventBody;
    assert.equal(Object.keys(body)[0], 'sessionId');
    for (const key of [
      'callControllerIP',
      'callControllerType',
      'ccid',
      'sessionStartDate',
      'sessionState',
      'tracks',
      'urls',
      'tags',
    ]) {
      assert.ok(key in body, key);
    }
    assert.ok(!('sessionDuration' in body), 'no duration while ACTIVE');
    assert.ok((body.tracks as Record<string, unknown>[]).every((t) => !('downloadUrl' in t)));

    const closed = sampleSession({ sessionId: '4c1316d0fb8771' });
    const ended = JSON.parse(
      renderEventPayload(
        { eventType: 'SESSION_EVENT', eventAction: 'ENDED', sessionId: closed.sessionId, at: 0 },
        context,
        closed,
      ),
    ) as { eventBody: { sessionDuration: number; tracks: { downloadUrl: string; trackNumber: number }[] } };
    assert.equal(ended.eventBody.sessionDuration, 60_000);
    for (const track of ended.eventBody.tracks) {
      assert.equal(
        track.downloadUrl,
        `https://10.0.0.9:8440/mma/ExportRaw?recording=4c1316d0fb8771-TRACK${track.trackNumber}`,
      );
    }
    // A session gone before the event was written: its id only.
    assert.equal(
      renderEventPayload(
        { eventType: 'SESSION_EVENT', eventAction: 'UPDATED', sessionId: 'gone', change: 'tags', at: 0 },
        context,
        undefined,
      ),
      '{"eventType":"SESSION_EVENT","eventAction":"UPDATED","forwardedEvent":"FALSE","eventBody":{"sessionId":"gone"}}',
    );
  });

  void it('maps bus events to the subscription filter types', () => {
    assert.equal(
      eventTypeNameOf({
        eventType: 'SESSION_EVENT',
        eventAction: 'UPDATED',
        sessionId: 's',
        change: 'tracks',
        at: 0,
      }),
      'SESSION_UPDATED_EVENT',
    );
    assert.equal(
      eventTypeNameOf({ eventType: 'SESSION_EVENT', eventAction: 'PRUNED', sessionIds: [], at: 0 }),
      'SESSION_PRUNED_EVENT',
    );
    assert.equal(
      eventTypeNameOf({
        eventType: 'TAG_EVENT',
        eventAction: 'DELETED',
        sessionId: 's',
        tag: { tagName: 'x', tagType: 'USER_DEFINED', tagCreateDate: 0 },
        at: 0,
      }),
      'TAG_DELETED_EVENT',
    );
    assert.equal(
      eventTypeNameOf({
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'EXIT_CRITICAL_STORAGE_SPACE',
        nodeId: 'n',
        partition: '/',
        percentageUtilization: 1,
        at: 0,
      }),
      'STORAGE_THRESHOLD_EVENT',
    );
    assert.equal(
      eventTypeNameOf({
        eventType: 'RECORDING_EVENT',
        eventAction: 'REJECTED',
        callId: 'c',
        controllerIp: 'i',
        sipStatus: 403,
        reason: 'r',
        at: 0,
      }),
      undefined,
    );
  });
});
