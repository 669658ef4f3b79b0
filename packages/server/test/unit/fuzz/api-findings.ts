import { startedBetween } from '../../support/get-sessions-bodies.js';

// The three getSessions bodies that answered 5000 before the API had input limits (issue 9, point
// 3), exactly as the fuzzer sent them; the HTTP tests and the fuzz corpus's regressions use them.

/** A sessionStartDate between whose first value is an array nested 10,000 deep. */
export function deepFieldValuesBody(t0: number): string {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  return `{"requestParameters":[{"fieldName":"sessionStartDate","fieldConditions":[{"fieldOperator":"between","fieldValues":[${deep},${t0}]}]}]}`;
}

/** 10,000 ccid equals conditions OR-ed in one clause, AND the window. */
export function manyOrConditionsBody(t0: number): string {
  const conditions = Array.from({ length: 10_000 }, (_, i) => ({
    fieldOperator: 'equals',
    fieldValues: [`c-${i}`],
    fieldConnector: 'OR',
  }));
  return JSON.stringify({
    requestParameters: [{ fieldName: 'ccid', fieldConditions: conditions }, startedBetween(t0, t0 + 1)],
  });
}

/** 8,000 ccid contains clauses AND-ed, then the window. */
export function manyClausesBody(t0: number): string {
  const clauses = Array.from({ length: 8000 }, (_, i) => ({
    fieldName: 'ccid',
    fieldConditions: [{ fieldOperator: 'contains', fieldValues: [`c-${i}`] }],
    paramConnector: 'AND',
  }));
  return JSON.stringify({ requestParameters: [...clauses, startedBetween(t0, t0 + 1)] });
}
