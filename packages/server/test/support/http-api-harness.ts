import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildHttpApi, type HttpApiOptions } from '../../src/api/http-api.js';
import { hashPassword } from '../../src/api/passwords.js';
import type { Repository } from '../../src/db/repository.js';

/**
 * The HTTP API as the API tests build it: a silent log, media URLs for 127.0.0.1 on the default
 * ports, plain HTTP, no media on disk and nothing to flush; `options` changes any of these.
 */
export function buildTestHttpApi(
  options: Pick<HttpApiOptions, 'repository'> & Partial<HttpApiOptions>,
): Promise<FastifyInstance> {
  return buildHttpApi({
    logger: pino({ level: 'silent' }),
    advertise: '127.0.0.1',
    httpPort: 8440,
    rtspPort: 8554,
    tls: false,
    mediaDir: '/nonexistent',
    flushMedia: () => Promise.resolve(),
    ...options,
  });
}

/** Adds an API user (role api) who signs in with `password`. */
export async function addApiUser(repository: Repository, username: string, password: string): Promise<void> {
  await repository.createUser({
    username,
    role: 'api',
    passwordHash: await hashPassword(password),
    createdAt: 0,
  });
}
