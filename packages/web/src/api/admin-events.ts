import {
  CATEGORY_TYPES,
  EVENT_CATEGORIES,
  type DeliveryAttempt,
  type SubscriptionApiVersion,
  type SubscriptionState,
} from '../../../server/src/model/event-subscription.ts';
import { getApi, postApi } from './client.ts';

/** Event subscriptions (docs/api.md "Event service"): the administrator's view and changes. */

export { CATEGORY_TYPES, EVENT_CATEGORIES };

const EVENT = '/ora/eventService/event';

/** A subscription as getSubscriptions answers it (api/event-routes.ts SubscriptionSchema). */
export interface SubscriptionJson {
  readonly subscriptionId: string;
  readonly subscriptionUri: string;
  readonly subscriptionFilters: readonly string[];
  readonly tagNameRegEx?: string;
  readonly signed: boolean;
  readonly subscriptionStatus: SubscriptionState;
  readonly failingSince?: number;
  readonly backlog: number;
  readonly apiVersion: SubscriptionApiVersion;
  readonly createdAt: number;
  readonly createdBy: string;
}

/** One delivery attempt as getDeliveryLog answers it. */
export type DeliveryAttemptJson = Pick<
  DeliveryAttempt,
  'id' | 'subscriptionId' | 'eventId' | 'event' | 'at' | 'httpStatus' | 'latencyMs' | 'error'
>;

export async function getSubscriptions(signal?: AbortSignal): Promise<SubscriptionJson[]> {
  const body = (await getApi(`${EVENT}/getSubscriptions`, {}, signal)).responseBody as
    { subscriptions?: SubscriptionJson[] } | undefined;
  return body?.subscriptions ?? [];
}

export interface NewSubscription {
  readonly subscriptionUri: string;
  /** Absent: every type. */
  readonly subscriptionFilters?: readonly string[];
  readonly tagNameRegEx?: string;
  readonly secret?: string;
}

/** Subscribes (2000) or finds the same subscription already there (2005); answers its id. */
export async function subscribeToEvents(subscription: NewSubscription): Promise<string> {
  const envelope = await postApi(`${EVENT}/subscribeToEvents`, { subscriptionType: 'http', ...subscription });
  const body = envelope.responseBody as { subscriptionId?: string } | undefined;
  return body?.subscriptionId ?? '';
}

export async function removeSubscription(subscriptionId: string): Promise<void> {
  await postApi(`${EVENT}/removeSubscription`, { subscriptionId });
}

export const DELIVERY_PAGE = 50;

/** Attempts newest first; the next page with `beforeId` = the last id seen. */
export async function getDeliveryLog(
  subscriptionId: string,
  beforeId?: number,
  signal?: AbortSignal,
): Promise<DeliveryAttemptJson[]> {
  const body = (
    await getApi(`${EVENT}/getDeliveryLog`, { subscriptionId, beforeId, limit: DELIVERY_PAGE }, signal)
  ).responseBody as { attempts?: DeliveryAttemptJson[] } | undefined;
  return body?.attempts ?? [];
}
