import { Type } from 'typebox';

import { success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import { NoParamsSchema } from './schemas.js';

export interface InfoRouteContext {
  readonly now: () => number;
  readonly productVersion: string;
}

const INFO = '/ora/infoService/info';

/**
 * The MediaSense API version Verbatim answers as (**Choice**, docs/api.md): 1.4 is the last version
 * the public documents number (9.0(1), which added the track codec); the shapes served are those
 * of 11.5, the newest release seen on the wire, which kept the 1.x calls.
 */
export const MEDIASENSE_API_VERSION = '1.4';

/** getSystemTime and getAPIVersion (reference §3). */
export function infoRoutes(ctx: InfoRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'GET',
      path: `${INFO}/getSystemTime`,
      summary: "The node's clock, epoch milliseconds as a string (also the liveness probe)",
      permission: 'signed-in',
      audit: false,
      input: 'query',
      params: NoParamsSchema,
      responseBody: Type.Object({ currentSystemTime: Type.String() }),
      handler: () => Promise.resolve(success({ currentSystemTime: String(ctx.now()) })),
    }),
    oraRoute({
      method: 'GET',
      path: `${INFO}/getAPIVersion`,
      summary: 'The API version; needs no sign-in, and is served over plain HTTP too',
      permission: 'public',
      audit: false,
      input: 'query',
      params: NoParamsSchema,
      responseBody: Type.Object({
        apiVersion: Type.String(),
        productName: Type.String(),
        productVersion: Type.String(),
      }),
      handler: () =>
        Promise.resolve(
          success({
            apiVersion: MEDIASENSE_API_VERSION,
            productName: 'Verbatim',
            productVersion: ctx.productVersion,
          }),
        ),
    }),
  ];
}
