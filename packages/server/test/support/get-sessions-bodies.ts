// Pieces of getSessions request bodies as the MediaSense 11.5 web UI sends them, shared by the
// translation tests and the HTTP API tests.

/** "Closed sessions": CLOSED_NORMAL or CLOSED_ERROR, joined to the next clause with AND. */
export const CLOSED_STATES_CLAUSE = {
  fieldName: 'sessionState',
  fieldConditions: [
    { fieldOperator: 'equals', fieldValues: ['CLOSED_NORMAL'], fieldConnector: 'OR' },
    { fieldOperator: 'equals', fieldValues: ['CLOSED_ERROR'] },
  ],
  paramConnector: 'AND',
};

/** Sessions started between `fromMs` and `toMs` (epoch milliseconds). */
export function startedBetween(
  fromMs: number,
  toMs: number,
): { fieldName: string; fieldConditions: object[] } {
  return {
    fieldName: 'sessionStartDate',
    fieldConditions: [{ fieldOperator: 'between', fieldValues: [fromMs, toMs] }],
  };
}
