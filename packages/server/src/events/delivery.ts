import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Logger } from 'pino';

import type {
  DeliveryResult,
  EventSubscriptionStore,
  OutboxEntry,
  StoredEventSubscription,
} from '../model/event-subscription.js';

/** Header names of a delivery (docs/api.md "Event delivery"). */
export const SIGNATURE_HEADER = 'X-Verbatim-Signature';
const EVENT_ID_HEADER = 'X-Verbatim-Event-Id';
const SUBSCRIPTION_ID_HEADER = 'X-Verbatim-Subscription-Id';

/** Outbox rows read per query; delivered one by one, in order. */
const OUTBOX_PAGE = 50;
/** Attempts kept in the delivery log per subscription, and for how long at most. */
export const DELIVERY_LOG_KEEP = 1000;
export const DELIVERY_LOG_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** The log is pruned after this many attempts of the node (and at start). */
const PRUNE_EVERY_ATTEMPTS = 200;
/** A subscription's FAILING warn line is repeated at most this often (one receiver that flaps). */
const FAILING_WARN_INTERVAL_MS = 3600 * 1000;
/** Response bytes kept for an error message. */
const ERROR_BODY_BYTES = 200;

export interface DeliveryTimer {
  now(): number;
  /** Resolves after `ms`, or at once when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const SYSTEM_TIMER: DeliveryTimer = {
  now: Date.now,
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface EventDeliveryOptions {
  readonly store: EventSubscriptionStore;
  /** Rows this node wrote are the ones it delivers. */
  readonly nodeId: string;
  readonly logger: Logger;
  /** PEM of CAs trusted besides the system roots (`--events-ca`). */
  readonly extraCa?: string;
  readonly timeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Every attempt failing for this long makes a subscription FAILING (`--events-failing-after`). */
  readonly failingAfterMs: number;
  /** How often subscriptions are re-read (made on another node, removed) and queues re-checked. */
  readonly pollMs?: number;
  /** Re-reads the subscriptions (and the outbox writer's filters with them). */
  readonly loadSubscriptions: () => Promise<StoredEventSubscription[]>;
  readonly timer?: DeliveryTimer;
  readonly userAgent?: string;
}

/** Attempts by outcome since start (for /metrics). */
export interface DeliveryCounters {
  delivered: number;
  failed: number;
}

/**
 * Delivers the outbox: one worker per subscription, each strictly in order (the head row is
 * retried until the receiver takes it, the next waits), POSTing the stored bytes with a fresh
 * signature per attempt. A 2xx deletes the row and logs the attempt in one transaction; anything
 * else (another status, refused, timeout, TLS) is logged and retried after a back-off doubling
 * from 1 s to 60 s, for as long as the subscription exists. So delivery is at least once: a stop
 * between the receiver's 2xx and the delete sends the row again at the next start, with the same
 * X-Verbatim-Event-Id.
 */
export class EventDelivery {
  readonly #options: EventDeliveryOptions;
  readonly #log: Logger;
  readonly #timer: DeliveryTimer;
  readonly #workers = new Map<string, Worker>();
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  readonly #httpsAgent: https.Agent;
  readonly #stop = new AbortController();
  readonly counters: DeliveryCounters = { delivered: 0, failed: 0 };
  #attemptsSincePrune = 0;
  #poll: Promise<void> | undefined;
  #syncing: Promise<void> = Promise.resolve();

  constructor(options: EventDeliveryOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'event-delivery' });
    this.#timer = options.timer ?? SYSTEM_TIMER;
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(options.extraCa === undefined ? {} : { ca: [...rootCertificates, options.extraCa] }),
    });
  }

  /** Resumes every subscription's queue from the outbox, then polls. */
  async start(): Promise<void> {
    await this.#prune();
    await this.sync();
    const pollMs = this.#options.pollMs ?? 5000;
    this.#poll = (async () => {
      while (!this.#stop.signal.aborted) {
        await this.#timer.sleep(pollMs, this.#stop.signal);
        await this.sync();
      }
    })();
  }

  /** Starts workers for new subscriptions, stops those of removed ones, nudges the rest. */
  sync(): Promise<void> {
    this.#syncing = this.#syncing.then(async () => {
      if (this.#stop.signal.aborted) {
        return;
      }
      let subscriptions: StoredEventSubscription[];
      try {
        subscriptions = await this.#options.loadSubscriptions();
      } catch (error: unknown) {
        this.#log.error({ err: error }, 'event subscriptions could not be read');
        return;
      }
      const seen = new Set<string>();
      for (const subscription of subscriptions) {
        seen.add(subscription.subscriptionId);
        const worker = this.#workers.get(subscription.subscriptionId);
        if (worker === undefined) {
          const started = new Worker(this, subscription);
          this.#workers.set(subscription.subscriptionId, started);
          started.run();
        } else {
          worker.update(subscription);
          worker.wake();
        }
      }
      for (const [id, worker] of this.#workers) {
        if (!seen.has(id)) {
          worker.stop();
          this.#workers.delete(id);
        }
      }
    });
    return this.#syncing;
  }

  /** New rows for these subscriptions (from this node's outbox writer). */
  wake(subscriptionIds: readonly string[]): void {
    let unknown = false;
    for (const id of subscriptionIds) {
      const worker = this.#workers.get(id);
      if (worker === undefined) {
        unknown = true;
      } else {
        worker.wake();
      }
    }
    if (unknown) {
      void this.sync();
    }
  }

  /** Subscriptions whose receiver is failing now, as this node sees them. */
  get failingSubscriptions(): number {
    return [...this.#workers.values()].filter((worker) => worker.failing).length;
  }

  /**
   * Stops delivering: waits up to `graceMs` for the POSTs in flight to be answered and recorded,
   * then cuts them. Nothing is lost: a row is deleted only once its delivery is recorded.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.#stop.abort();
    const workers = [...this.#workers.values()];
    for (const worker of workers) {
      worker.stop();
    }
    const finished = Promise.all([...workers.map((worker) => worker.done), this.#poll, this.#syncing]);
    const grace = new AbortController();
    await Promise.race([finished, this.#timer.sleep(graceMs, grace.signal)]);
    grace.abort();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    await finished.catch(() => undefined);
    this.#workers.clear();
  }

  // What workers use.

  get store(): EventSubscriptionStore {
    return this.#options.store;
  }
  get nodeId(): string {
    return this.#options.nodeId;
  }
  get timer(): DeliveryTimer {
    return this.#timer;
  }
  get log(): Logger {
    return this.#log;
  }
  get options(): EventDeliveryOptions {
    return this.#options;
  }

  /** POSTs one row; never throws. */
  async post(subscription: StoredEventSubscription, entry: OutboxEntry): Promise<DeliveryResult> {
    const at = this.#timer.now();
    const started = performance.now();
    const base = { subscriptionId: subscription.subscriptionId, eventId: entry.id, event: entry.event, at };
    const outcome = await this.#send(subscription, entry, at);
    const latencyMs = performance.now() - started;
    const result: DeliveryResult = {
      ...base,
      latencyMs,
      ...(outcome.status === undefined ? {} : { httpStatus: outcome.status }),
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
    };
    if (outcome.error === undefined) {
      this.counters.delivered++;
    } else {
      this.counters.failed++;
    }
    if (++this.#attemptsSincePrune >= PRUNE_EVERY_ATTEMPTS) {
      this.#attemptsSincePrune = 0;
      void this.#prune();
    }
    return result;
  }

  #send(
    subscription: StoredEventSubscription,
    entry: OutboxEntry,
    at: number,
  ): Promise<{ status?: number; error?: string }> {
    let url: URL;
    try {
      url = new URL(subscription.subscriptionUri);
    } catch {
      return Promise.resolve({ error: 'the subscription URI is not a URL' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.resolve({ error: `the subscription URI's scheme ${url.protocol} is not http or https` });
    }
    const body = Buffer.from(entry.payload, 'utf8');
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'User-Agent': this.#options.userAgent ?? 'Verbatim',
      [EVENT_ID_HEADER]: String(entry.id),
      [SUBSCRIPTION_ID_HEADER]: subscription.subscriptionId,
    };
    if (subscription.secret !== undefined) {
      headers[SIGNATURE_HEADER] = signatureHeader(subscription.secret, at, entry.payload);
    }
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: { status?: number; error?: string }): void => {
        if (!settled) {
          settled = true;
          clearTimeout(deadline);
          resolve(outcome);
        }
      };
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        headers,
        agent: url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent,
      });
      // One deadline for connect, TLS, upload and answer.
      const deadline = setTimeout(() => {
        request.destroy(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      request.on('error', (error: Error) => {
        finish({ error: error.message });
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < ERROR_BODY_BYTES) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        response.on('end', () => {
          if (status >= 200 && status < 300) {
            finish({ status });
          } else {
            const text = Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_BYTES).trim();
            finish({ status, error: `HTTP ${status}${text === '' ? '' : `: ${text}`}` });
          }
        });
        response.on('error', (error: Error) => {
          finish({ status, error: error.message });
        });
      });
      request.end(body);
    });
  }

  async #prune(): Promise<void> {
    try {
      await this.#options.store.pruneDeliveryLog(
        this.#timer.now() - DELIVERY_LOG_MAX_AGE_MS,
        DELIVERY_LOG_KEEP,
      );
    } catch (error: unknown) {
      this.#log.warn({ err: error }, 'event delivery log not pruned');
    }
  }
}

/** `t=<epoch ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signatureHeader(secret: string, at: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${at}.${body}`, 'utf8').digest('hex');
  return `t=${at},v1=${mac}`;
}

/** The queue of one subscription on this node. */
class Worker {
  readonly #delivery: EventDelivery;
  #subscription: StoredEventSubscription;
  readonly #stop = new AbortController();
  /** Aborted to end an idle wait early (new rows). */
  #idle = new AbortController();
  #woken = false;
  #failing: boolean;
  #lastFailingWarnAt = -Infinity;
  done: Promise<void> = Promise.resolve();

  constructor(delivery: EventDelivery, subscription: StoredEventSubscription) {
    this.#delivery = delivery;
    this.#subscription = subscription;
    this.#failing = subscription.state === 'FAILING';
  }

  get failing(): boolean {
    return this.#failing;
  }

  update(subscription: StoredEventSubscription): void {
    this.#subscription = subscription;
  }

  wake(): void {
    this.#woken = true;
    this.#idle.abort();
  }

  stop(): void {
    this.#stop.abort();
    this.#idle.abort();
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** New rows were announced while the outbox was being read: read again before waiting. */
  #wokenSinceRead(): boolean {
    return this.#woken;
  }

  run(): void {
    this.done = this.#loop().catch((error: unknown) => {
      this.#delivery.log.error(
        { err: error, subscriptionId: this.#subscription.subscriptionId },
        'event delivery stopped',
      );
    });
  }

  async #loop(): Promise<void> {
    const { store, nodeId, timer, options } = this.#delivery;
    const initial = options.initialBackoffMs ?? 1000;
    const max = options.maxBackoffMs ?? 60_000;
    let backoff = initial;
    while (!this.#stop.signal.aborted) {
      this.#woken = false;
      let page: OutboxEntry[];
      try {
        page = await store.pendingOutbox(this.#subscription.subscriptionId, nodeId, OUTBOX_PAGE);
      } catch (error: unknown) {
        this.#delivery.log.error({ err: error }, 'event outbox could not be read');
        await timer.sleep(backoff, this.#stop.signal);
        backoff = Math.min(backoff * 2, max);
        continue;
      }
      if (page.length === 0) {
        if (!this.#wokenSinceRead()) {
          this.#idle = new AbortController();
          // Woken by new rows or a sync; the poll catches anything else (another node's change).
          await timer.sleep(options.pollMs ?? 5000, anySignal(this.#idle.signal, this.#stop.signal));
        }
        continue;
      }
      for (const entry of page) {
        if (this.#stopped()) {
          return;
        }
        let delivered: boolean | 'gone';
        try {
          delivered = await this.#deliverHead(entry);
        } catch (error: unknown) {
          // The database failed to record the attempt: the row stays and is tried again.
          this.#delivery.log.error({ err: error, eventId: entry.id }, 'event delivery not recorded');
          delivered = false;
        }
        if (delivered === 'gone') {
          return;
        }
        if (!delivered) {
          // Head of line: the next rows wait until this one is taken.
          await timer.sleep(backoff, this.#stop.signal);
          backoff = Math.min(backoff * 2, max);
          break;
        }
        backoff = initial;
      }
    }
  }

  /** One attempt at the head row; 'gone' when the subscription no longer exists. */
  async #deliverHead(entry: OutboxEntry): Promise<boolean | 'gone'> {
    const { store, timer, options, log } = this.#delivery;
    const subscription = this.#subscription;
    const result = await this.#delivery.post(subscription, entry);
    const state = await store.recordDelivery(result);
    if (state === undefined) {
      return 'gone';
    }
    const ids = {
      subscriptionId: subscription.subscriptionId,
      subscriptionUri: subscription.subscriptionUri,
    };
    if (result.error === undefined) {
      if (this.#failing) {
        this.#failing = false;
        log.info(ids, 'event subscription ACTIVE again: its receiver took an event');
      }
      return true;
    }
    log.debug({ ...ids, eventId: entry.id, error: result.error }, 'event delivery failed');
    const since = state.failingSince ?? result.at;
    if (state.state === 'FAILING') {
      this.#failing = true;
    } else if (
      timer.now() - since >= options.failingAfterMs &&
      (await store.markSubscriptionFailing(subscription.subscriptionId))
    ) {
      this.#failing = true;
      const now = timer.now();
      if (now - this.#lastFailingWarnAt >= FAILING_WARN_INTERVAL_MS) {
        this.#lastFailingWarnAt = now;
        log.warn(
          { ...ids, failingSinceMs: since, lastError: result.error },
          'event subscription FAILING: every delivery has failed; events are kept and retried',
        );
      }
    }
    return false;
  }
}

function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  return AbortSignal.any([a, b]);
}
