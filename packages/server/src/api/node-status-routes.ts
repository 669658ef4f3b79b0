import { Type } from 'typebox';

import { fillHours, HOUR_MS, type NodeActivityStore } from '../model/node-activity.js';
import { MESSAGE_SUCCESS_LONG, success } from './envelope.js';
import type { NodeAdmissionJson, NodePortsJson, NodeStatusJson } from './node-admin-json.js';
import { oraRoute, type OraRoute } from './ora-route.js';

/**
 * getNodeStatus, a Verbatim extension for Administration's node status (issue 14): the running
 * node's live figures (calls now, admission, uptime, version, ports) and activity per hour from
 * the database (sessions started, packets received and lost).
 */

export const NODE_STATUS_PATH = '/ora/infoService/info/getNodeStatus';

/** The longest history asked at once: a week and a day, so a client can cut 7 local days out of it. */
export const MAX_STATUS_HOURS = 192;
/** Calls-now samples kept: one a minute for a day. */
const ACTIVE_MINUTES = 24 * 60;
const MINUTE_MS = 60_000;

/**
 * The most sessions in progress in each minute of the last day, sampled while the node runs (on
 * a timer and on each call), so that "calls now" has a line and not one number. Kept in memory:
 * a restart starts it anew, which the page says.
 */
export class ActiveCallsHistory {
  readonly #minutes: { minute: number; peak: number }[] = [];
  readonly #count: () => number;
  readonly #now: () => number;

  constructor(count: () => number, now: () => number) {
    this.#count = count;
    this.#now = now;
  }

  sample(): void {
    const now = this.#now();
    const minute = now - (now % MINUTE_MS);
    const active = this.#count();
    const last = this.#minutes.at(-1);
    if (last?.minute === minute) {
      last.peak = Math.max(last.peak, active);
    } else {
      this.#minutes.push({ minute, peak: active });
    }
    while ((this.#minutes[0]?.minute ?? now) <= now - ACTIVE_MINUTES * MINUTE_MS) {
      this.#minutes.shift();
    }
  }

  /** Minute starts and peaks, oldest first. */
  get minutes(): readonly { readonly minute: number; readonly peak: number }[] {
    return this.#minutes;
  }
}

export interface NodeStatusContext {
  readonly nodeId: string;
  readonly productVersion: string;
  readonly startedAt: number;
  readonly now: () => number;
  readonly activeSessions: () => number;
  readonly maxSessions: number;
  readonly admission: () => NodeAdmissionJson;
  /** The ports listened on, once started (port 0 in the configuration is the one the OS chose). */
  readonly ports: () => NodePortsJson | undefined;
  readonly bind: string;
  readonly advertise: string;
  readonly tls: boolean;
  readonly activity: NodeActivityStore;
  readonly history: ActiveCallsHistory;
}

const HourSchema = Type.Object({
  hourStart: Type.Integer({ description: 'epoch ms, a whole UTC hour' }),
  sessions: Type.Integer({ description: 'sessions that started in the hour' }),
  packetsReceived: Type.Integer({ description: "RTP packets received by the hour's tracks" }),
  packetsLost: Type.Integer({ description: 'packets lost on the way (sequence gaps)' }),
});

const NodeStatusSchema = Type.Object({
  nodeId: Type.String(),
  productVersion: Type.String(),
  startedAt: Type.Integer({ description: 'epoch ms the node started' }),
  at: Type.Integer({ description: "epoch ms of this answer (the node's clock)" }),
  uptimeSeconds: Type.Integer(),
  activeSessions: Type.Integer({ description: 'sessions being recorded by this node now' }),
  maxSessions: Type.Integer({ description: '`--max-sessions`' }),
  admission: Type.Object({
    enabled: Type.Boolean(),
    level: Type.Union([Type.Literal('open'), Type.Literal('ramping'), Type.Literal('refusing')]),
    reason: Type.Optional(Type.String({ description: 'the signal that left `open`' })),
    storageRefusing: Type.Boolean(),
    refusals: Type.Record(Type.String(), Type.Integer(), {
      description: 'INVITEs refused since the start, by reason',
    }),
  }),
  bind: Type.String(),
  advertise: Type.String(),
  tls: Type.Boolean({ description: 'HTTPS on the API port (false under --no-tls)' }),
  ports: Type.Optional(
    Type.Object({
      sipUdp: Type.Integer(),
      sipTcp: Type.Integer(),
      sipTls: Type.Optional(Type.Integer()),
      http: Type.Integer(),
      rtsp: Type.Optional(Type.Integer()),
      rtpMin: Type.Integer(),
      rtpMax: Type.Integer(),
    }),
  ),
  activeByMinute: Type.Array(Type.Object({ minute: Type.Integer(), peak: Type.Integer() }), {
    description: 'the most sessions in progress in each minute of the last day since the node started',
  }),
  hours: Type.Array(HourSchema, {
    description:
      'the last `hours` whole hours, oldest first, the current (partial) hour last; every hour present',
  }),
});

export function nodeStatusRoutes(ctx: NodeStatusContext): OraRoute[] {
  return [
    oraRoute({
      method: 'GET',
      path: NODE_STATUS_PATH,
      summary: "This node's live figures and its calls and packet loss per hour",
      description:
        'Live: sessions in progress, admission state and refusals, uptime, version, ports. Per hour ' +
        '(`hours`, 0-192, default 24, the current hour included): sessions started, and the packets ' +
        'received and lost by the tracks that started in it, read from the database (every node ' +
        'sharing it). `hours=0` answers the live figures only (cheap enough to poll every few seconds).',
      permission: 'read-node',
      audit: false,
      input: 'query',
      params: Type.Object({
        hours: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_STATUS_HOURS })),
      }),
      responseBody: NodeStatusSchema,
      handler: async (params) => {
        ctx.history.sample();
        const at = ctx.now();
        const hourCount = params.hours ?? 24;
        const toHour = at - (at % HOUR_MS) + HOUR_MS;
        const fromHour = toHour - hourCount * HOUR_MS;
        const hours =
          hourCount === 0
            ? []
            : fillHours(await ctx.activity.hourlyActivity(fromHour, toHour), fromHour, toHour);
        const ports = ctx.ports();
        const status: NodeStatusJson = {
          nodeId: ctx.nodeId,
          productVersion: ctx.productVersion,
          startedAt: ctx.startedAt,
          at,
          uptimeSeconds: Math.max(0, Math.floor((at - ctx.startedAt) / 1000)),
          activeSessions: ctx.activeSessions(),
          maxSessions: ctx.maxSessions,
          admission: ctx.admission(),
          bind: ctx.bind,
          advertise: ctx.advertise,
          tls: ctx.tls,
          ...(ports === undefined ? {} : { ports }),
          activeByMinute: ctx.history.minutes,
          hours,
        };
        return success(status, MESSAGE_SUCCESS_LONG);
      },
    }),
  ];
}
