import type { VerifyStore } from '../model/media-integrity.js';
import type { Repository } from './repository.js';

/** The repository as the media check reads it (storage/ sits below db/ and cannot import it). */
export function verifyStoreOf(repository: Repository): VerifyStore {
  return {
    getSession: (sessionId) => repository.getSession(sessionId),
    sessionsStartedIn: (sinceMs, untilMs, offset, limit) =>
      repository.querySessions({
        // BETWEEN is inclusive at both ends; the window's end is not.
        where: {
          kind: 'condition',
          field: 'sessionStartDate',
          operator: 'between',
          values: [sinceMs, untilMs - 1],
        },
        sort: [{ field: 'sessionStartDate', order: 'ASC' }],
        offset,
        limit,
      }),
  };
}
