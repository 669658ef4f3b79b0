import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CATEGORY_TYPES,
  EVENT_TYPE_NAMES,
  expandEventFilters,
} from '../../../src/model/event-subscription.js';

void describe('expandEventFilters', () => {
  void it('expands categories to their types, in the canonical order, without duplicates', () => {
    assert.deepEqual(expandEventFilters(['TAG_EVENTS', 'RECORDING_EVENTS', 'SESSION_STARTED_EVENT']), {
      types: [
        'SESSION_STARTED_EVENT',
        'SESSION_UPDATED_EVENT',
        'SESSION_ENDED_EVENT',
        'TAG_ADDED_EVENT',
        'TAG_UPDATED_EVENT',
        'TAG_DELETED_EVENT',
      ],
      unknown: [],
    });
  });

  void it('reads names without regard to case and returns unknown ones as given', () => {
    assert.deepEqual(expandEventFilters(['storage_events', ' Cleanup_Events ', 'NOPE']), {
      types: ['SESSION_DELETED_EVENT', 'SESSION_PRUNED_EVENT', 'STORAGE_THRESHOLD_EVENT'],
      unknown: ['NOPE'],
    });
  });

  void it('covers every type by exactly one category', () => {
    const covered = Object.values(CATEGORY_TYPES).flat();
    assert.deepEqual([...covered].sort(), [...EVENT_TYPE_NAMES].sort());
  });
});
