import type { FastifyInstance, FastifyRequest } from 'fastify';
import { failure, RESPONSE_CODES } from './envelope.js';
import { shortText, urlPath } from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';

/**
 * MediaSense's 5042: past a fixed number of `/ora` requests in progress, the next one is answered
 * at once with "too many concurrent requests" instead of waiting behind the others. Under a flood
 * of queries the work the node has taken on stays bounded, and a refused client retries later.
 */

/**
 * getSystemTime is never refused and not counted: it is the liveness probe clients poll, it costs
 * one session lookup and holds nothing, and a 5042 there would make a busy node look dead.
 * getAPIVersion and the OpenAPI document are answered from memory likewise.
 */
const EXEMPT_PATHS: ReadonlySet<string> = new Set([
  '/ora/infoService/info/getSystemTime',
  '/ora/infoService/info/getAPIVersion',
  '/ora/openapi.json',
]);

/** Counts `/ora` requests from arrival until their answer is ready, refusing past `max`. */
export function registerConcurrencyLimit(app: FastifyInstance, max: number, refusals: ApiRefusalLog): void {
  let inFlight = 0;
  const counted = new WeakSet<FastifyRequest>();
  const release = (request: FastifyRequest): void => {
    if (counted.delete(request)) {
      inFlight--;
    }
  };

  app.addHook('onRequest', (request, reply, done) => {
    const path = urlPath(request.url);
    if (!path.startsWith('/ora/') || EXEMPT_PATHS.has(path)) {
      done();
      return;
    }
    if (inFlight >= max) {
      refusals.note(
        'too-many-requests',
        'warn',
        'API request refused with 5042: too many concurrent requests',
        {
          url: shortText(path),
          inFlight,
          max,
        },
      );
      // HTTP 200 like every /ora answer; nothing of the request (not even its body) is read.
      void reply
        .code(200)
        .send(
          failure(
            RESPONSE_CODES.tooManyRequests,
            `${inFlight} requests are in progress, at most ${max} at once (MAX_CONCURRENT_ORA_REQUESTS)`,
          ),
        );
      return;
    }
    inFlight++;
    counted.add(request);
    done();
  });
  // The answer is ready once onSend runs, even when the client has gone: a request whose client
  // hangs up still holds its place until its work is done, so hanging up does not evade the limit.
  // onResponse is the fallback for an answer that never reached onSend.
  app.addHook('onSend', (request, _reply, payload, done) => {
    release(request);
    done(null, payload);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    release(request);
    done();
  });
}
