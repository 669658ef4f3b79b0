import type { SessionJson } from '../../../server/src/api/session-json.ts';
import { postApi } from './client.ts';

export type { SessionJson };

/** Sessions that started in the last `days` days, newest first as the server orders them. */
export async function recentSessions(days: number, now: number = Date.now()): Promise<SessionJson[]> {
  const envelope = await postApi('/ora/queryService/query/getSessions', [
    {
      fieldName: 'sessionStartDate',
      fieldConditions: [{ fieldOperator: 'between', fieldValues: [now - days * 86_400_000, now + 60_000] }],
    },
  ]);
  return (envelope.responseBody as { sessions?: SessionJson[] } | undefined)?.sessions ?? [];
}
