import type { NodeStatusJson } from '../../../server/src/api/node-admin-json.ts';
import type { HourActivity } from '../../../server/src/model/node-activity.ts';
import { getApi } from './client.ts';

export type { HourActivity, NodeStatusJson };

const NODE_STATUS = '/ora/infoService/info/getNodeStatus';

/**
 * The node's status (getNodeStatus, read-node). `hours` whole hours of activity, the current one
 * last (0: the live figures only, what the page polls every few seconds).
 */
export async function nodeStatus(hours: number, signal?: AbortSignal): Promise<NodeStatusJson> {
  const envelope = await getApi(NODE_STATUS, { hours }, signal);
  const status = envelope.responseBody as NodeStatusJson | undefined;
  if (status === undefined) {
    throw new Error('getNodeStatus answered without a status');
  }
  return status;
}
