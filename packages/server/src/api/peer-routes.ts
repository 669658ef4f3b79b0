import { Type } from 'typebox';

import type { TrustedPeer } from '../model/trusted-peer.js';
import { failure, MESSAGE_SUCCESS_LONG, MESSAGE_SUCCESSFUL, RESPONSE_CODES, success } from './envelope.js';
import type { CallControllerSettingsJson, TrustedPeerJson, TrustedPeersJson } from './node-admin-json.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import { MAX_TRUSTED_PEER_NOTE_LENGTH, type TrustedPeers } from './trusted-peers.js';

/**
 * The SIP service, a Verbatim extension for Administration's call controllers (issue 14): the
 * trusted peers, changed without a restart (api/trusted-peers.ts, docs/sip.md "Trusted peers"),
 * and the call-controller settings, read-only because they are bound at start.
 */

export const SIP_SERVICE = '/ora/sipService/sip';

/** What the SIP intake is set up with; the options need a restart to change. */
export type CallControllerSettings = Omit<CallControllerSettingsJson, 'codecs'>;

export interface PeerRouteContext {
  readonly peers: TrustedPeers;
  /** Read when asked: the SIP ports are known once the node listens. */
  readonly settings: () => CallControllerSettings;
}

/**
 * What the node records (DESIGN.md §1.2): the codecs of the delayed-offer answer it sends CUCM,
 * and what an early offer may carry besides. Fixed by the build, not by an option.
 */
const CODECS = {
  offered: [
    'PCMU (G.711 µ-law)',
    'PCMA (G.711 A-law)',
    'G722',
    'G729',
    'telephone-event (DTMF, kept as tags)',
  ],
  decoded: ['G.711 µ-law and A-law', 'G.722', 'G.729/a/b', 'Opus'],
  storedOnly: ['AAC-LD', 'H.264 video', 'any other codec, stored raw and flagged'],
};

const PeerSchema = Type.Object({
  cidr: Type.String({ description: 'canonical form, prefix always written: 10.0.0.0/8, 2001:db8::/32' }),
  note: Type.String(),
  addedAt: Type.Integer({ description: 'epoch ms' }),
  addedBy: Type.String({ description: 'the user who added it' }),
});

const CidrParam = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'an IPv4 or IPv6 block (`10.0.0.0/8`, `2001:db8::/32`) or one address',
});

function peerJson(peer: TrustedPeer): TrustedPeerJson {
  return { cidr: peer.cidr, note: peer.note, addedAt: peer.addedAt, addedBy: peer.addedBy };
}

function peersJson(peers: TrustedPeers): TrustedPeersJson {
  return { configured: [...peers.configured], stored: peers.stored.map(peerJson) };
}

const PeersSchema = Type.Object({
  configured: Type.Array(Type.String(), {
    description: 'the blocks of `--trusted-peers` (changed by a restart only)',
  }),
  stored: Type.Array(PeerSchema, { description: 'the blocks added through this API, oldest first' }),
});

export function peerRoutes(ctx: PeerRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'GET',
      path: `${SIP_SERVICE}/getTrustedPeers`,
      summary: 'Who may send INVITEs: the blocks of --trusted-peers and those added through the API',
      description:
        'An INVITE is taken when its source address lies in any block of either list (their union); ' +
        'others get 403 Forbidden.',
      permission: 'read-node',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: PeersSchema,
      handler: async () => {
        // Read again, so a change made by another process sharing the database shows.
        await ctx.peers.load();
        return success(peersJson(ctx.peers), MESSAGE_SUCCESS_LONG);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${SIP_SERVICE}/addTrustedPeer`,
      summary: 'Trust a CIDR block to send INVITEs, at once and across restarts; audited',
      description:
        'The block is written in canonical form (one address becomes `/32` or `/128`). 4001 for ' +
        'text that is not a block, a block with host bits set (the detail names the block meant), ' +
        `\`/0\`, or a note over ${String(MAX_TRUSTED_PEER_NOTE_LENGTH)} characters; 4043 when the block is ` +
        'stored already. Answers both lists.',
      permission: 'manage-peers',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        cidr: CidrParam,
        note: Type.Optional(Type.String({ maxLength: MAX_TRUSTED_PEER_NOTE_LENGTH })),
      }),
      responseBody: PeersSchema,
      failures: [RESPONSE_CODES.alreadyExists],
      handler: async (params, call) => {
        call.audit.target = params.cidr;
        const result = await ctx.peers.add(params.cidr, params.note ?? '', call.user?.username ?? '?');
        if (!result.ok) {
          return failure(
            result.reason === 'exists' ? RESPONSE_CODES.alreadyExists : RESPONSE_CODES.invalidParameter,
            result.detail,
          );
        }
        call.audit.target = result.peer.cidr;
        call.audit.detail = {
          cidr: result.peer.cidr,
          ...(result.peer.note === '' ? {} : { note: result.peer.note }),
        };
        return success(peersJson(ctx.peers), MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${SIP_SERVICE}/removeTrustedPeer`,
      summary: 'Stop trusting a block added through the API, at once; audited',
      description:
        'The block as listed (or any spelling of it). 4041 when it is not stored; a block of ' +
        '`--trusted-peers` cannot be removed here (the detail says so). Answers both lists.',
      permission: 'manage-peers',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ cidr: CidrParam }),
      responseBody: PeersSchema,
      failures: [RESPONSE_CODES.notFound],
      handler: async (params, call) => {
        call.audit.target = params.cidr;
        const result = await ctx.peers.remove(params.cidr);
        if (!result.ok) {
          return failure(
            result.reason === 'not-found' ? RESPONSE_CODES.notFound : RESPONSE_CODES.invalidParameter,
            result.detail,
          );
        }
        call.audit.target = result.peer.cidr;
        call.audit.detail = { cidr: result.peer.cidr, addedBy: result.peer.addedBy };
        return success(peersJson(ctx.peers), MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'GET',
      path: `${SIP_SERVICE}/getCallControllerSettings`,
      summary: "The SIP intake's settings: ports, transports, limits, outbound proxy, codecs",
      description: 'Read-only: each is a `verbatim serve` option and changes with a restart.',
      permission: 'read-node',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: Type.Object({
        sipUdpPort: Type.Integer(),
        sipTcpPort: Type.Integer(),
        sipTlsPort: Type.Optional(Type.Integer({ description: 'absent when SIP over TLS is off' })),
        advertise: Type.String(),
        bind: Type.String(),
        sipInviteRate: Type.Integer({ description: 'new-dialog INVITEs a second per source; 0: no limit' }),
        maxSessions: Type.Integer(),
        mediaTimeoutSeconds: Type.Number(),
        rtpPortMin: Type.Integer(),
        rtpPortMax: Type.Integer(),
        admission: Type.Boolean(),
        outbound: Type.Optional(
          Type.Object({
            proxy: Type.String(),
            transport: Type.String(),
            username: Type.Optional(Type.String()),
            answerTimeoutSeconds: Type.Number(),
          }),
        ),
        codecs: Type.Object({
          offered: Type.Array(Type.String()),
          decoded: Type.Array(Type.String()),
          storedOnly: Type.Array(Type.String()),
        }),
      }),
      handler: () => {
        const settings: CallControllerSettingsJson = { ...ctx.settings(), codecs: CODECS };
        return Promise.resolve(success(settings, MESSAGE_SUCCESS_LONG));
      },
    }),
  ];
}
