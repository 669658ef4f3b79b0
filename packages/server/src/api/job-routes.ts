import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Job, JobItem } from '../model/job.js';
import {
  MAX_SESSIONS_PER_JOB,
  type CancelJobResult,
  type CreateJobResult,
  type DeletionJobRunner,
} from '../storage/deletion-jobs.js';
import {
  failure,
  MESSAGE_SUCCESSFUL,
  RESPONSE_CODES,
  success,
  type ApiFailure,
  type Envelope,
} from './envelope.js';
import type { Authenticator } from './authenticator.js';
import {
  describeValue,
  getParam,
  isJsonObject,
  queryString,
  shortText,
  toNonNegativeInteger,
  urlPath,
  type JsonObject,
} from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';

/**
 * deleteSessions and the job APIs (reference §6, addendum §3–4): deleteSessions and createJob
 * start a deletion job and answer at once with its id; getJobById reports it; cancelJob stops it;
 * deleteJob forgets a finished one. The work itself is the runner's (storage/deletion-jobs.ts).
 */

/** What the routes use of the runner. */
export type JobService = Pick<DeletionJobRunner, 'createDeleteJob' | 'getJob' | 'cancel' | 'deleteJob'>;

/**
 * Characters in one session id of a deletion request. Verbatim's ids are 16 hex digits; 128
 * leaves room for ids from elsewhere and bounds the body (see {@link JOB_BODY_LIMIT_BYTES}).
 */
export const MAX_SESSION_ID_LENGTH = 128;

/**
 * Largest body of deleteSessions and createJob, above the API's general 128 KiB: a full job of
 * 10,000 session ids of the longest kind, each quoted with a comma (130 bytes), and room for the
 * rest of the body. 10,000 of Verbatim's own ids take 190 KB.
 */
export const JOB_BODY_LIMIT_BYTES = MAX_SESSIONS_PER_JOB * (MAX_SESSION_ID_LENGTH + 3) + 64 * 1024;

/** The jobType createJob accepts (compared case-insensitively): MediaSense's own name is unknown. */
const DELETE_SESSIONS_JOB_TYPE = 'DELETE_SESSIONS';

/** The JSON of a job (addendum §3), with Verbatim's extensions after MediaSense's fields. */
export interface JobJson {
  jobType: string;
  jobDuration: number;
  jobStartTime: number;
  jobId: number;
  jobState: string;
  operationsCompleted: number;
  operationsRemaining: number;
  /** Extensions: failed operations (counted in operationsCompleted), and the first of them. */
  operationsFailed: number;
  failedOperations: { sessionId: string; reason: string }[];
  jobEndTime?: number;
  errorReason?: string;
}

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
      reason: item.failureReason ?? 'UNKNOWN',
    })),
    ...(job.endedAt === undefined ? {} : { jobEndTime: job.endedAt }),
    ...(job.errorReason === undefined ? {} : { errorReason: job.errorReason }),
  };
}

/** `requestParameters` of a body, or the failure that names what is missing. */
export function requestParameters(body: unknown): JsonObject | ApiFailure {
  const params = isJsonObject(body) ? getParam(body, 'requestParameters') : undefined;
  return isJsonObject(params)
    ? params
    : { responseCode: RESPONSE_CODES.missingParameter, detail: 'requestParameters is required' };
}

/**
 * The session ids of a deletion: an array of 1 to 10,000 non-empty strings of at most 128
 * characters. A lone string is read as a list of one (lenient, as clients port from a singular
 * deleteSession).
 */
export function parseSessionIds(value: unknown, name: string): string[] | ApiFailure {
  if (value === undefined || value === null) {
    return { responseCode: RESPONSE_CODES.missingParameter, detail: `${name} is required` };
  }
  const list: readonly unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (!Array.isArray(value) && typeof value !== 'string') {
    return {
      responseCode: RESPONSE_CODES.invalidParameter,
      detail: `${name} must be an array of session ids, got ${describeValue(value)}`,
    };
  }
  if (list.length === 0) {
    return { responseCode: RESPONSE_CODES.invalidParameter, detail: `${name} lists no session` };
  }
  if (list.length > MAX_SESSIONS_PER_JOB) {
    return {
      responseCode: RESPONSE_CODES.invalidParameter,
      detail: `${name} lists ${list.length} sessions; a job takes at most ${MAX_SESSIONS_PER_JOB}`,
    };
  }
  const ids: string[] = [];
  for (const [i, id] of list.entries()) {
    if (typeof id !== 'string' || id === '' || id.length > MAX_SESSION_ID_LENGTH) {
      return {
        responseCode: RESPONSE_CODES.invalidParameter,
        detail: `${name}[${i}] must be a session id of 1 to ${MAX_SESSION_ID_LENGTH} characters, got ${describeValue(id)}`,
      };
    }
    ids.push(id);
  }
  return ids;
}

/** A job id given as a positive integer, a JSON number or a decimal string. */
export function parseJobId(value: unknown): number | ApiFailure {
  if (value === undefined || value === null || value === '') {
    return { responseCode: RESPONSE_CODES.missingParameter, detail: 'jobId is required' };
  }
  const jobId = toNonNegativeInteger(value);
  return jobId !== undefined && jobId > 0
    ? jobId
    : {
        responseCode: RESPONSE_CODES.invalidParameter,
        detail: `jobId must be a positive integer, got ${describeValue(value)}`,
      };
}

function isFailure(value: unknown): value is ApiFailure {
  return isJsonObject(value) && typeof value.responseCode === 'number';
}

function asEnvelope(f: ApiFailure): Envelope {
  return failure(f.responseCode, f.detail);
}

function created(result: CreateJobResult): Envelope {
  if (result.ok) {
    return success({ jobId: result.job.jobId }, MESSAGE_SUCCESSFUL);
  }
  switch (result.reason) {
    case 'too-many-jobs':
      return failure(RESPONSE_CODES.tooManyJobs, result.detail);
    case 'closed':
      return failure(RESPONSE_CODES.internalError, result.detail);
    case 'no-sessions':
    case 'too-many-sessions':
      return failure(RESPONSE_CODES.invalidParameter, result.detail);
  }
}

/** POST deleteSessions `{"requestParameters":{"sessionIds":[…]}}` → `{"jobId": n}`. */
export async function deleteSessions(jobs: JobService, body: unknown): Promise<Envelope> {
  const params = requestParameters(body);
  if (isFailure(params)) {
    return asEnvelope(params);
  }
  const ids = parseSessionIds(getParam(params, 'sessionIds'), 'sessionIds');
  return isFailure(ids) ? asEnvelope(ids) : created(await jobs.createDeleteJob(ids));
}

/** POST createJob `{"requestParameters":{"jobType":"DELETE_SESSIONS","jobParameters":{"sessionIds":[…]}}}`. */
export async function createJob(jobs: JobService, body: unknown): Promise<Envelope> {
  const params = requestParameters(body);
  if (isFailure(params)) {
    return asEnvelope(params);
  }
  const jobType = getParam(params, 'jobType');
  if (jobType === undefined || jobType === null) {
    return failure(RESPONSE_CODES.missingParameter, 'jobType is required');
  }
  if (typeof jobType !== 'string' || jobType.toUpperCase() !== DELETE_SESSIONS_JOB_TYPE) {
    return failure(
      RESPONSE_CODES.invalidParameter,
      `jobType must be ${DELETE_SESSIONS_JOB_TYPE}, got ${describeValue(jobType)}`,
    );
  }
  const jobParameters = getParam(params, 'jobParameters');
  if (!isJsonObject(jobParameters)) {
    return failure(RESPONSE_CODES.missingParameter, 'jobParameters with sessionIds is required');
  }
  const ids = parseSessionIds(getParam(jobParameters, 'sessionIds'), 'jobParameters.sessionIds');
  return isFailure(ids) ? asEnvelope(ids) : created(await jobs.createDeleteJob(ids));
}

/** GET getJobById?jobId=n → `{"jobs":[job]}`. */
export async function getJobById(jobs: JobService, query: JsonObject, now: number): Promise<Envelope> {
  const jobId = parseJobId(queryString(query, ['jobId', 'value']));
  if (isFailure(jobId)) {
    return asEnvelope(jobId);
  }
  const report = await jobs.getJob(jobId);
  return report === undefined
    ? failure(RESPONSE_CODES.jobNotFound, `no job ${jobId}`)
    : success({ jobs: [jobJson(report.job, report.failed, now)] });
}

/** POST cancelJob `{"requestParameters":{"jobId":n}}` → `{"jobs":[job]}` once it has stopped. */
export async function cancelJob(jobs: JobService, body: unknown, now: number): Promise<Envelope> {
  const jobId = jobIdOfBody(body);
  if (isFailure(jobId)) {
    return asEnvelope(jobId);
  }
  const result: CancelJobResult = await jobs.cancel(jobId);
  if (result.ok) {
    return success({ jobs: [jobJson(result.job, [], now)] }, MESSAGE_SUCCESSFUL);
  }
  return result.reason === 'not-found'
    ? failure(RESPONSE_CODES.jobNotFound, `no job ${jobId}`)
    : failure(
        RESPONSE_CODES.jobStateConflict,
        `job ${jobId} is ${result.job.jobState}: only a QUEUED or RUNNING job can be canceled`,
      );
}

/** POST deleteJob `{"requestParameters":{"jobId":n}}`: a COMPLETED, CANCELED or ERROR job only. */
export async function deleteJob(jobs: JobService, body: unknown): Promise<Envelope> {
  const jobId = jobIdOfBody(body);
  if (isFailure(jobId)) {
    return asEnvelope(jobId);
  }
  switch (await jobs.deleteJob(jobId)) {
    case 'deleted':
      return success(undefined, MESSAGE_SUCCESSFUL);
    case 'not-found':
      return failure(RESPONSE_CODES.jobNotFound, `no job ${jobId}`);
    case 'unfinished':
      return failure(
        RESPONSE_CODES.jobStateConflict,
        `job ${jobId} is QUEUED or RUNNING: cancel it first (cancelJob), then delete it`,
      );
  }
}

function jobIdOfBody(body: unknown): number | ApiFailure {
  const params = requestParameters(body);
  return isFailure(params) ? params : parseJobId(getParam(params, 'jobId'));
}

const MANAGE = '/ora/managementService/manage';
const QUERY = '/ora/queryService/query';

export interface JobRouteContext {
  readonly jobs: JobService;
  readonly authenticator: Authenticator;
  readonly now: () => number;
  readonly refusals: ApiRefusalLog;
}

/** Registers the five job calls; each needs a signed-in session (4021 without one). */
export function registerJobRoutes(app: FastifyInstance, ctx: JobRouteContext): void {
  const signedIn =
    (handler: (request: FastifyRequest) => Promise<Envelope>) =>
    async (request: FastifyRequest): Promise<Envelope> => {
      if (ctx.authenticator.sessionOf(request.headers) === undefined) {
        ctx.refusals.note('invalid-session', 'info', 'API request without a valid JSESSIONID', {
          url: shortText(urlPath(request.url)),
        });
        return failure(RESPONSE_CODES.invalidSession);
      }
      return handler(request);
    };
  const jobBody = { bodyLimit: JOB_BODY_LIMIT_BYTES };
  app.post(
    `${MANAGE}/deleteSessions`,
    jobBody,
    signedIn((request) => deleteSessions(ctx.jobs, request.body)),
  );
  app.post(
    `${MANAGE}/createJob`,
    jobBody,
    signedIn((request) => createJob(ctx.jobs, request.body)),
  );
  app.post(
    `${MANAGE}/cancelJob`,
    signedIn((request) => cancelJob(ctx.jobs, request.body, ctx.now())),
  );
  app.post(
    `${MANAGE}/deleteJob`,
    signedIn((request) => deleteJob(ctx.jobs, request.body)),
  );
  app.get(
    `${QUERY}/getJobById`,
    signedIn((request) => getJobById(ctx.jobs, isJsonObject(request.query) ? request.query : {}, ctx.now())),
  );
}
