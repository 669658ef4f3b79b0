import { Type, type Static } from 'typebox';

import {
  FINISHED_JOB_STATES,
  JOB_TYPES,
  UNFINISHED_JOB_STATES,
  type JobType,
  type DeleteFailureReason,
  type Job,
  type JobItem,
  type JobState,
} from '../model/job.js';
import { FINDING_KINDS, type FindingKind } from '../model/media-integrity.js';
import {
  MAX_FAILED_ITEMS_REPORTED,
  MAX_FINDINGS_REPORTED,
  MAX_SESSIONS_PER_JOB,
  type CreateJobResult,
  type DeletionJobRunner,
} from '../storage/deletion-jobs.js';
import { failure, MESSAGE_SUCCESSFUL, RESPONSE_CODES, success, type Envelope } from './envelope.js';
import { oraRoute, type OraCall, type OraRoute } from './ora-route.js';
import { AUDITED_SESSION_IDS, sessionIdsDetail } from './audit-targets.js';
import { EpochMsSchema, SessionIdSchema } from './schemas.js';

/**
 * deleteSessions and the job APIs (reference §6, addendum §3–4): deleteSessions and createJob
 * start a deletion job and answer at once with its id; getJobById reports it; cancelJob stops it;
 * deleteJob forgets a finished one. The work itself is the runner's (storage/deletion-jobs.ts).
 */

/** What the routes use of the runner. */
export type JobService = Pick<
  DeletionJobRunner,
  'createDeleteJob' | 'createVerifyJob' | 'getJob' | 'cancel' | 'deleteJob'
>;

export interface JobRouteContext {
  readonly jobs: JobService;
  readonly now: () => number;
}

/** The longest session id a deletion names (SessionIdSchema's limit). */
const MAX_SESSION_ID_LENGTH = 128;

/**
 * Largest body of deleteSessions and createJob, above the API's general 128 KiB: a full job of
 * 10,000 session ids of the longest kind, each quoted with a comma (131 bytes), and room for the
 * rest of the body. 10,000 of Verbatim's own ids take 190 KB.
 */
export const JOB_BODY_LIMIT_BYTES = MAX_SESSIONS_PER_JOB * (MAX_SESSION_ID_LENGTH + 3) + 64 * 1024;

/** The jobType createJob accepts (compared case-insensitively): MediaSense's own name is unknown. */
const DELETE_SESSIONS_JOB_TYPE = 'DELETE_SESSIONS';

const MANAGE = '/ora/managementService/manage';
const QUERY = '/ora/queryService/query';

const SessionIdsSchema = Type.Array(SessionIdSchema, {
  minItems: 1,
  maxItems: MAX_SESSIONS_PER_JOB,
  description: `1 to ${MAX_SESSIONS_PER_JOB} session ids; a session listed twice is one operation`,
});

const JobIdSchema = Type.Integer({
  minimum: 1,
  description: 'A job id, as deleteSessions or createJob gave it',
});

const FindingKindSchema = Type.Unsafe<FindingKind>({ type: 'string', enum: [...FINDING_KINDS] });

const VerifyResultSchema = Type.Object(
  {
    sessions: Type.Integer({ minimum: 0, description: 'Sessions whose tracks were checked' }),
    tracks: Type.Integer({ minimum: 0, description: 'Track files checked' }),
    intact: Type.Integer({ minimum: 0, description: 'Track files equal to their digest' }),
    skippedSessions: Type.Integer({
      minimum: 0,
      description: 'Sessions not judged: still recording (ACTIVE), deleted or pruned',
    }),
    bytesRead: Type.Integer({ minimum: 0 }),
    counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
      description: 'Findings of each kind (whole, even when the list is cut)',
    }),
    findings: Type.Array(
      Type.Object({
        kind: FindingKindSchema,
        path: Type.String({ description: 'Relative to the media directory' }),
        sessionId: Type.Optional(Type.String()),
        trackNumber: Type.Optional(Type.Integer({ minimum: 0 })),
        detail: Type.String(),
      }),
      { description: `The first ${MAX_FINDINGS_REPORTED} findings` },
    ),
  },
  { description: 'Verbatim extension, VERIFY_MEDIA once COMPLETED: what the check found (docs/media.md)' },
);

const JobSchema = Type.Object({
  jobType: Type.Unsafe<JobType>({ type: 'string', enum: [...JOB_TYPES] }),
  jobDuration: Type.Integer({ minimum: 0, description: 'ms from jobStartTime to the end, or to now' }),
  jobStartTime: EpochMsSchema,
  jobId: Type.Integer({ minimum: 1 }),
  jobState: Type.Unsafe<JobState>({
    type: 'string',
    enum: [...UNFINISHED_JOB_STATES, ...FINISHED_JOB_STATES],
    description: 'QUEUED (waiting for another job) is a Verbatim name: MediaSense had one, name unknown',
  }),
  operationsCompleted: Type.Integer({
    minimum: 0,
    description: 'Operations attempted, failed ones included',
  }),
  operationsRemaining: Type.Integer({ minimum: 0 }),
  operationsFailed: Type.Integer({ minimum: 0, description: 'Verbatim extension' }),
  failedOperations: Type.Array(
    Type.Object({
      sessionId: Type.String(),
      reason: Type.Unsafe<DeleteFailureReason>({
        type: 'string',
        enum: ['NOT_FOUND', 'ACTIVE', 'ALREADY_DELETED', 'MEDIA_NOT_REMOVED'],
      }),
    }),
    { description: `Verbatim extension: the first ${MAX_FAILED_ITEMS_REPORTED} failed operations` },
  ),
  jobEndTime: Type.Optional(EpochMsSchema),
  errorReason: Type.Optional(Type.String({ description: 'Why the job ended in ERROR' })),
  verifyWindow: Type.Optional(
    Type.Object(
      { since: EpochMsSchema, until: EpochMsSchema },
      { description: 'Verbatim extension, VERIFY_MEDIA: sessions that started in [since, until)' },
    ),
  ),
  verifyResult: Type.Optional(VerifyResultSchema),
});

const JobsBodySchema = Type.Object({ jobs: Type.Array(JobSchema) });
const JobIdBodySchema = Type.Object({ jobId: Type.Integer({ minimum: 1 }) });

type JobJson = Static<typeof JobSchema>;

/** The JSON of a job (addendum §3), with Verbatim's extensions after MediaSense's fields. */
export function jobJson(job: Job, failed: readonly JobItem[], now: number): JobJson {
  return {
    jobType: job.jobType,
    // A snapshot (addendum §3): a job still going has lasted until now.
    jobDuration: Math.max(0, (job.endedAt ?? now) - job.createdAt),
    jobStartTime: job.createdAt,
    jobId: job.jobId,
    jobState: job.jobState,
    operationsCompleted: job.operationsCompleted,
    operationsRemaining: job.operationsTotal - job.operationsCompleted,
    operationsFailed: job.operationsFailed,
    failedOperations: failed.map((item) => ({
      sessionId: item.sessionId,
      reason: item.failureReason ?? 'NOT_FOUND',
    })),
    ...(job.endedAt === undefined ? {} : { jobEndTime: job.endedAt }),
    ...(job.errorReason === undefined ? {} : { errorReason: job.errorReason }),
    ...(job.verifyWindow === undefined
      ? {}
      : { verifyWindow: { since: job.verifyWindow.sinceMs, until: job.verifyWindow.untilMs } }),
    ...(job.verifyResult === undefined
      ? {}
      : {
          verifyResult: {
            ...job.verifyResult,
            counts: { ...job.verifyResult.counts },
            findings: [...job.verifyResult.findings],
          },
        }),
  };
}

/** Starts a deletion job and answers its id; the audit record names the job and its sessions. */
async function startDeletion(
  ctx: JobRouteContext,
  sessionIds: readonly string[],
  call: OraCall,
): Promise<Envelope> {
  call.audit.detail = sessionIdsDetail(sessionIds);
  const result: CreateJobResult = await ctx.jobs.createDeleteJob(sessionIds);
  if (result.ok) {
    call.audit.target = `job ${result.job.jobId}`;
    return success({ jobId: result.job.jobId }, MESSAGE_SUCCESSFUL);
  }
  switch (result.reason) {
    case 'too-many-jobs':
      // The node's own "try again later", as for too many requests at once.
      return failure(RESPONSE_CODES.tooManyRequests, result.detail);
    case 'closed':
    case 'unavailable':
      return failure(RESPONSE_CODES.internalError, result.detail);
    case 'legal-hold':
      call.audit.detail = {
        ...call.audit.detail,
        refused: 'legal hold',
        held: result.sessionIds.slice(0, AUDITED_SESSION_IDS).join(','),
      };
      return failure(RESPONSE_CODES.legalHold, result.detail);
    case 'no-sessions':
    case 'too-many-sessions':
      return failure(RESPONSE_CODES.invalidParameter, result.detail);
  }
}

export function jobRoutes(ctx: JobRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'POST',
      path: `${MANAGE}/deleteSessions`,
      summary: 'Start a job that deletes closed sessions (media and metadata), one at a time',
      description:
        'Answers at once with the job id; follow the job with getJobById. Each listed session that ' +
        'is closed loses its media files and becomes a `DELETED` tombstone; an ACTIVE, unknown or ' +
        'already deleted session is a failed operation of the job. Progress is published as batched ' +
        '`SESSION_EVENT` `DELETED` events. 4044 when any listed session carries the legal hold tag of ' +
        'the retention policy: no job is created, the detail names the sessions; a session tagged ' +
        'after the job was created fails as `LEGAL_HOLD`.',
      permission: 'delete',
      audit: true,
      bodyLimit: JOB_BODY_LIMIT_BYTES,
      input: 'requestParameters',
      params: Type.Object({ sessionIds: SessionIdsSchema }),
      responseBody: Type.Object({ jobId: Type.Integer({ minimum: 1 }) }),
      failures: [RESPONSE_CODES.tooManyRequests, RESPONSE_CODES.legalHold],
      handler: (params, call) => startDeletion(ctx, params.sessionIds, call),
    }),
    oraRoute({
      method: 'POST',
      path: `${MANAGE}/createJob`,
      summary: 'Start a job of the given type (DELETE_SESSIONS: the same as deleteSessions)',
      permission: 'delete',
      audit: true,
      bodyLimit: JOB_BODY_LIMIT_BYTES,
      input: 'requestParameters',
      params: Type.Object({
        jobType: Type.String({ maxLength: 64, description: `${DELETE_SESSIONS_JOB_TYPE} (any case)` }),
        jobParameters: Type.Object({ sessionIds: SessionIdsSchema }),
      }),
      responseBody: Type.Object({ jobId: Type.Integer({ minimum: 1 }) }),
      failures: [RESPONSE_CODES.tooManyRequests, RESPONSE_CODES.legalHold],
      handler: async (params, call) => {
        if (params.jobType.toUpperCase() !== DELETE_SESSIONS_JOB_TYPE) {
          return failure(
            RESPONSE_CODES.invalidParameter,
            `requestParameters.jobType must be ${DELETE_SESSIONS_JOB_TYPE}, got ${JSON.stringify(params.jobType)}`,
          );
        }
        return startDeletion(ctx, params.jobParameters.sessionIds, call);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${MANAGE}/verifyMedia`,
      summary: 'Verbatim extension: start a job that checks every track file against its stored SHA-256',
      description:
        'The check of `verbatim verify` as a job (docs/media.md "Integrity"): each track file of the ' +
        'sessions that started in [since, until) (default: every session) is read and compared with ' +
        'the digest stored when it was finished, and the media directory is walked for files no track ' +
        'names. Answers at once with the job id; getJobById shows the progress (operations are ' +
        'tracks; operationsFailed counts the problems) and, once COMPLETED, `verifyResult`.',
      permission: 'read-audit',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        since: Type.Optional(EpochMsSchema),
        until: Type.Optional(EpochMsSchema),
      }),
      responseBody: Type.Object({ jobId: Type.Integer({ minimum: 1 }) }),
      failures: [RESPONSE_CODES.tooManyRequests],
      handler: async (params, call) => {
        const sinceMs = params.since ?? 0;
        const untilMs = params.until ?? ctx.now() + 1;
        if (sinceMs >= untilMs) {
          return failure(
            RESPONSE_CODES.invalidParameter,
            `requestParameters.since (${sinceMs}) must be before until (${untilMs})`,
          );
        }
        call.audit.detail = { since: String(sinceMs), until: String(untilMs) };
        const windowed = params.since !== undefined || params.until !== undefined;
        const result = await ctx.jobs.createVerifyJob({ sinceMs, untilMs, windowed });
        if (!result.ok) {
          return result.reason === 'too-many-jobs'
            ? failure(RESPONSE_CODES.tooManyRequests, result.detail)
            : failure(RESPONSE_CODES.internalError, result.detail);
        }
        call.audit.target = `job ${result.job.jobId}`;
        return success({ jobId: result.job.jobId }, MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'GET',
      path: `${QUERY}/getJobById`,
      summary: "A job's state and progress, as a snapshot",
      permission: 'signed-in',
      audit: false,
      input: 'query',
      params: Type.Object({ jobId: JobIdSchema }),
      responseBody: JobsBodySchema,
      failures: [RESPONSE_CODES.notFound],
      handler: async (params) => {
        const report = await ctx.jobs.getJob(params.jobId);
        return report === undefined
          ? failure(RESPONSE_CODES.notFound, `no job ${params.jobId}`)
          : success({ jobs: [jobJson(report.job, report.failed, ctx.now())] });
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${MANAGE}/cancelJob`,
      summary: 'Cancel a QUEUED or RUNNING job; a RUNNING one stops after the session in progress',
      description: 'Answers once the job has stopped, with its final counters.',
      permission: 'delete',
      audit: true,
      input: 'requestParameters',
      params: JobIdBodySchema,
      responseBody: JobsBodySchema,
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
      handler: async (params, call) => {
        call.audit.target = `job ${params.jobId}`;
        const result = await ctx.jobs.cancel(params.jobId);
        if (result.ok) {
          return success({ jobs: [jobJson(result.job, [], ctx.now())] }, MESSAGE_SUCCESSFUL);
        }
        return result.reason === 'not-found'
          ? failure(RESPONSE_CODES.notFound, `no job ${params.jobId}`)
          : failure(
              RESPONSE_CODES.invalidState,
              `job ${params.jobId} is ${result.job.jobState}: only a QUEUED or RUNNING job can be canceled`,
            );
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${MANAGE}/deleteJob`,
      summary: 'Forget a COMPLETED, CANCELED or ERROR job (its deletions stay done)',
      permission: 'delete',
      audit: true,
      input: 'requestParameters',
      params: JobIdBodySchema,
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
      handler: async (params, call) => {
        call.audit.target = `job ${params.jobId}`;
        switch (await ctx.jobs.deleteJob(params.jobId)) {
          case 'deleted':
            return success(undefined, MESSAGE_SUCCESSFUL);
          case 'not-found':
            return failure(RESPONSE_CODES.notFound, `no job ${params.jobId}`);
          case 'unfinished':
            return failure(
              RESPONSE_CODES.invalidState,
              `job ${params.jobId} is QUEUED or RUNNING: cancel it first (cancelJob), then delete it`,
            );
        }
      },
    }),
  ];
}
