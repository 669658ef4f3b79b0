import type { TSchema } from 'typebox';

import { FAILURE_MESSAGES, RESPONSE_CODES, type FailureCode } from './envelope.js';
import { apiName, type OraRoute } from './ora-route.js';
import { rolesWith } from './permissions.js';
import { envelopeSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document of the API, generated from the same route declarations that validate
 * requests (ora-route.ts), so it cannot drift from what the server does. Served at
 * `/ora/openapi.json`. Built by hand from the table rather than by a fastify plugin: the
 * registrar checks the caller before the parameters and answers in the MediaSense envelope, which
 * fastify's own schema validation (that such plugins read) cannot do.
 */

/** A path outside /ora (media downloads, metrics), described by hand in the same terms. */
export interface DocumentedPath {
  readonly path: string;
  readonly method: 'get' | 'post';
  readonly operation: Record<string, unknown>;
}

const COMMON_FAILURES: readonly FailureCode[] = [
  RESPONSE_CODES.malformedRequest,
  RESPONSE_CODES.invalidParameter,
  RESPONSE_CODES.missingParameter,
  RESPONSE_CODES.internalError,
  RESPONSE_CODES.tooManyRequests,
];

/** A TypeBox schema as plain JSON (its symbol-keyed markers dropped). */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

function describeCodes(route: OraRoute): string {
  const codes = [
    ...(route.permission === 'public' ? [] : [RESPONSE_CODES.invalidSession, RESPONSE_CODES.forbidden]),
    ...COMMON_FAILURES,
    ...(route.failures ?? []),
  ];
  const unique = [...new Set(codes)].sort((a, b) => a - b);
  return unique.map((code) => `- ${code}: ${FAILURE_MESSAGES[code]}`).join('\n');
}

function operation(route: OraRoute): Record<string, unknown> {
  const who =
    route.permission === 'public'
      ? 'No sign-in needed.'
      : `Roles: ${rolesWith(route.permission).join(', ')}.`;
  const description = [
    route.description ?? '',
    who,
    route.audit ? 'Each call is written to the audit trail.' : '',
    `Failure codes (always with HTTP 200):\n${describeCodes(route)}`,
  ]
    .filter((text) => text !== '')
    .join('\n\n');
  const params = plain(route.params);
  const op: Record<string, unknown> = {
    operationId: apiName(route),
    summary: route.summary,
    description,
    tags: [route.path.split('/')[2] ?? 'ora'],
    // Machine-readable for clients and for the role tests: what the caller needs, and whether the
    // call is audited.
    'x-verbatim-permission': route.permission,
    'x-verbatim-roles': route.permission === 'public' ? [] : rolesWith(route.permission),
    'x-verbatim-audited': route.audit,
    ...(route.permission === 'public' ? { security: [] } : {}),
    responses: {
      200: {
        description: 'The MediaSense envelope: 2000 success, 2001 no results, 4xxx/5xxx failures',
        content: { 'application/json': { schema: plain(envelopeSchema(route.responseBody)) } },
      },
    },
  };
  if (route.input === 'query') {
    const properties = (params.properties ?? {}) as Record<string, Record<string, unknown>>;
    const required = new Set((params.required ?? []) as string[]);
    op.parameters = Object.entries(properties).map(([name, schema]) => ({
      name,
      in: 'query',
      required: required.has(name),
      schema,
      ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    }));
  } else {
    const body =
      route.input === 'requestParameters'
        ? { type: 'object', required: ['requestParameters'], properties: { requestParameters: params } }
        : params;
    op.requestBody = { required: true, content: { 'application/json': { schema: body } } };
  }
  return op;
}

export function openApiDocument(
  routes: readonly OraRoute[],
  extraPaths: readonly DocumentedPath[],
  productVersion: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  for (const extra of extraPaths) {
    (paths[extra.path] ??= {})[extra.method] = extra.operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Verbatim API (MediaSense compatible)',
      version: productVersion,
      description:
        'Every /ora API answers HTTP 200 with the envelope {responseCode, responseMessage, responseBody?, detail?}. ' +
        'Sign in with signIn; later calls carry the JSESSIONID cookie or header. Downloads also take HTTP Basic. ' +
        'docs/api.md is the full reference.',
    },
    components: {
      securitySchemes: {
        jsessionCookie: { type: 'apiKey', in: 'cookie', name: 'JSESSIONID' },
        jsessionHeader: { type: 'apiKey', in: 'header', name: 'JSESSIONID' },
        basic: { type: 'http', scheme: 'basic' },
      },
    },
    security: [{ jsessionCookie: [] }, { jsessionHeader: [] }],
    paths,
  };
}
