import type { FastifyInstance, FastifyRequest } from 'fastify';
import { failure, RESPONSE_CODES } from './envelope.js';
import { shortText, urlPath } from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';

/**
 * What a node serving HTTPS answers over plain HTTP on the same port (https-with-plain-server.ts).
 * MediaSense allows one API over HTTP, getAPIVersion (reference §1), so a client can learn what it
 * talks to before it sets up TLS. Everything else carries credentials, session cookies or
 * recordings and is refused, before any route runs: a signIn sent in the clear gets 4023, not a
 * session.
 */
export const PLAIN_HTTP_PATHS: ReadonlySet<string> = new Set(['/ora/infoService/info/getAPIVersion']);

/**
 * A Host header fit to build the redirect from: a name or address and a port, nothing that could
 * turn the Location into another URL shape.
 */
const REDIRECTABLE_HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

function isEncrypted(request: FastifyRequest): boolean {
  return (request.raw.socket as { encrypted?: boolean }).encrypted === true;
}

/**
 * Refuses plain HTTP requests, except PLAIN_HTTP_PATHS. An `/ora` call gets the 4023 envelope
 * (HTTP 200, as MediaSense answers application errors); a browser's GET of a page or a recording
 * is redirected (308) to the same address over HTTPS, so `http://node:8440/` still leads somewhere.
 */
export function registerPlainHttpPolicy(app: FastifyInstance, refusals: ApiRefusalLog): void {
  app.addHook('onRequest', (request, reply, done) => {
    const path = urlPath(request.url);
    if (isEncrypted(request) || PLAIN_HTTP_PATHS.has(path)) {
      done();
      return;
    }
    refusals.note('https-required', 'info', 'plain HTTP request refused on the HTTPS port', {
      method: shortText(request.method),
      url: shortText(path),
    });
    const isOra = path.startsWith('/ora/');
    const host = request.headers.host;
    if (
      !isOra &&
      (request.method === 'GET' || request.method === 'HEAD') &&
      host !== undefined &&
      REDIRECTABLE_HOST.test(host)
    ) {
      void reply.code(308).header('location', `https://${host}${request.url}`).send();
      return;
    }
    const detail = `${shortText(request.method)} ${shortText(path)} is served over HTTPS only; only getAPIVersion answers over plain HTTP`;
    void reply.code(isOra ? 200 : 403).send(failure(RESPONSE_CODES.httpsRequired, detail));
  });
}
