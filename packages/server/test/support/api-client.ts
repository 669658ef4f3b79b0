import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/api/passwords.js';
import { agentRoutes } from '../../src/api/agent-routes.js';
import { tagRoutes } from '../../src/api/tag-routes.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import type { Role } from '../../src/model/user.js';
import { addApiUser, buildTestHttpApi } from './http-api-harness.js';

/** A MediaSense envelope as a test reads it. */
export interface EnvelopeJson<B = { sessions: SessionOut[] }> {
  responseCode: number;
  responseMessage: string;
  responseBody?: B;
  detail?: string;
}

export interface TagOut {
  tagName: string;
  tagType: string;
  tagCreateDate: number;
  tagOffset?: number;
  trackNumber?: number;
}

export interface SessionOut {
  sessionId: string;
  sessionState: string;
  sessionStartDate: number;
  pruned?: boolean;
  tags: TagOut[];
  tracks: { trackNumber: number; trackMediaType: string; tags: TagOut[] }[];
}

/**
 * The HTTP API over a real socket on a fresh SQLite database in a temp dir, with one signed-in
 * API user, and the events the API published: what the API integration tests of issue 10 start.
 */
export interface ApiOverSqlite {
  readonly repository: Repository;
  readonly events: VerbatimEvent[];
  get(path: string, query?: Record<string, string | number>): Promise<EnvelopeJson>;
  post(path: string, body: unknown): Promise<EnvelopeJson>;
  /** A request without the session cookie. */
  anonymous(path: string, init?: RequestInit): Promise<EnvelopeJson>;
  /** A POST as another user (signed in for this call) of the given role. */
  postAs(role: Role, path: string, body: unknown): Promise<EnvelopeJson>;
  close(): Promise<void>;
}

export async function startApiOverSqlite(prefix: string): Promise<ApiOverSqlite> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
  await repository.migrate();
  await addApiUser(repository, 'client', 'client-pw');
  const events: VerbatimEvent[] = [];
  let app: FastifyInstance | undefined;
  try {
    app = await buildTestHttpApi({
      repository,
      extraRoutes: [
        (deps) => tagRoutes({ ...deps, events: { publish: (e) => events.push(e) } }),
        (deps) => agentRoutes(deps),
      ],
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const signIn = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'client', password: 'client-pw' } }),
    });
    assert.equal(((await signIn.json()) as EnvelopeJson).responseCode, 2000);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const read = async (response: Response): Promise<EnvelopeJson> => {
      assert.equal(response.status, 200, `HTTP status of ${response.url}`);
      return (await response.json()) as EnvelopeJson;
    };
    const opened = app;
    return {
      repository,
      events,
      get: async (path, query = {}) => {
        const search = new URLSearchParams(
          Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
        );
        const url = `${base}${path}${search.size === 0 ? '' : `?${search.toString()}`}`;
        return read(await fetch(url, { headers: { cookie } }));
      },
      post: async (path, body) =>
        read(
          await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', cookie },
            body: JSON.stringify(body),
          }),
        ),
      anonymous: async (path, init) => read(await fetch(`${base}${path}`, init)),
      postAs: async (role, path, body) => {
        const username = `${role}-user`;
        if ((await repository.getUser(username)) === undefined) {
          await repository.createUser({
            username,
            role,
            passwordHash: await hashPassword('pw'),
            createdAt: 0,
          });
        }
        const signedIn = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
          method: 'POST',
          body: JSON.stringify({ requestParameters: { username, password: 'pw' } }),
        });
        const roleCookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
        return read(
          await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', cookie: roleCookie },
            body: JSON.stringify(body),
          }),
        );
      },
      close: async () => {
        await opened.close();
        await repository.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error: unknown) {
    await app?.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The session ids of an answer, or the response code when it carries no sessions. */
export function idsOf(envelope: EnvelopeJson): string[] | number {
  return envelope.responseBody?.sessions.map((s) => s.sessionId) ?? envelope.responseCode;
}
