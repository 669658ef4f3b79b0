import type {
  CallControllerSettingsJson,
  TrustedPeersJson,
} from '../../../server/src/api/node-admin-json.ts';
import { getApi, postApi } from './client.ts';

export type { CallControllerSettingsJson, TrustedPeersJson };

const SIP = '/ora/sipService/sip';

function bodyOf(body: unknown, api: string): object {
  if (typeof body !== 'object' || body === null) {
    throw new Error(`${api} answered without a body`);
  }
  return body;
}

/** The blocks of `--trusted-peers` and those added here (getTrustedPeers, read-node). */
export async function trustedPeers(signal?: AbortSignal): Promise<TrustedPeersJson> {
  return bodyOf(
    (await getApi(`${SIP}/getTrustedPeers`, {}, signal)).responseBody,
    'getTrustedPeers',
  ) as TrustedPeersJson;
}

/** Trusts a block at once (addTrustedPeer, manage-peers); answers both lists. */
export async function addTrustedPeer(cidr: string, note: string): Promise<TrustedPeersJson> {
  return bodyOf(
    (await postApi(`${SIP}/addTrustedPeer`, { cidr, note })).responseBody,
    'addTrustedPeer',
  ) as TrustedPeersJson;
}

/** Stops trusting a block added here (removeTrustedPeer, manage-peers); answers both lists. */
export async function removeTrustedPeer(cidr: string): Promise<TrustedPeersJson> {
  return bodyOf(
    (await postApi(`${SIP}/removeTrustedPeer`, { cidr })).responseBody,
    'removeTrustedPeer',
  ) as TrustedPeersJson;
}

/** The SIP intake's settings, read-only (getCallControllerSettings, read-node). */
export async function callControllerSettings(signal?: AbortSignal): Promise<CallControllerSettingsJson> {
  return bodyOf(
    (await getApi(`${SIP}/getCallControllerSettings`, {}, signal)).responseBody,
    'getCallControllerSettings',
  ) as CallControllerSettingsJson;
}
