import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { nodeStatus, type HourActivity, type NodeStatusJson } from '../../api/admin-node.ts';
import { useFailureMessage } from '../../auth.tsx';
import { ErrorMessage, Loading } from '../../components/states.tsx';
import { TimeChart, type ChartSeries } from '../../components/time-chart.tsx';
import './node.css';

/** The live figures are polled this often while the page is visible. */
const LIVE_MS = 5_000;
/** The hours are read again this often, and whenever the number of calls in progress changes. */
const HISTORY_MS = 60_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** The most hours the API answers at once (MAX_STATUS_HOURS). */
const MAX_HOURS = 192;

const wholeNumber = (value: number): string => String(Math.round(value));
const percent = (value: number): string => `${value.toFixed(2)} %`;
const hourLabel = (epochMs: number): string =>
  new Date(epochMs).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
const dayLabel = (epochMs: number): string =>
  new Date(epochMs).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

/** Local midnight `daysBack` days before the day of `now` (the browser's calendar, DST included). */
function localMidnight(now: number, daysBack: number): number {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  day.setDate(day.getDate() - daysBack);
  return day.getTime();
}

/** Hours to ask for so that the answer covers the last 7 local days (today included). */
function hoursForWeek(now: number): number {
  const currentHourEnd = now - (now % HOUR_MS) + HOUR_MS;
  return Math.min(MAX_HOURS, Math.ceil((currentHourEnd - localMidnight(now, 6)) / HOUR_MS));
}

/** Lost packets as a percentage of those expected; null where no packet was expected. */
function lossPercent(received: number, lost: number): number | null {
  const expected = received + lost;
  return expected === 0 ? null : (100 * lost) / expected;
}

interface Series {
  readonly times: readonly number[];
  readonly calls: readonly ChartSeries[];
  readonly loss: readonly ChartSeries[];
  readonly totalCalls: number;
}

function seriesOf(times: number[], buckets: readonly Omit<HourActivity, 'hourStart'>[]): Series {
  return {
    times,
    calls: [{ label: 'Calls', values: buckets.map((b) => b.sessions) }],
    loss: [
      {
        label: 'Packet loss',
        values: buckets.map((b) => lossPercent(b.packetsReceived, b.packetsLost)),
        colour: '#b42318',
      },
    ],
    totalCalls: buckets.reduce((sum, b) => sum + b.sessions, 0),
  };
}

/** The last 24 hours, one point each (the current hour last). */
function lastDay(hours: readonly HourActivity[]): Series {
  const day = hours.slice(-24);
  return seriesOf(
    day.map((h) => h.hourStart),
    day,
  );
}

/** The last 7 local days, today last: the hours summed by the browser's calendar day. */
function lastWeek(hours: readonly HourActivity[], now: number): Series {
  const days = Array.from({ length: 7 }, (_, i) => localMidnight(now, 6 - i));
  const sums = days.map(() => ({ sessions: 0, packetsReceived: 0, packetsLost: 0 }));
  for (const hour of hours) {
    const index = days.findLastIndex((start) => start <= hour.hourStart);
    const sum = sums[index];
    if (sum !== undefined) {
      sum.sessions += hour.sessions;
      sum.packetsReceived += hour.packetsReceived;
      sum.packetsLost += hour.packetsLost;
    }
  }
  return seriesOf(days, sums);
}

function uptimeText(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) {
    return `${String(days)} d ${String(hours)} h ${String(minutes)} min`;
  }
  if (hours > 0) {
    return `${String(hours)} h ${String(minutes)} min`;
  }
  return minutes > 0 ? `${String(minutes)} min ${String(seconds % 60)} s` : `${String(seconds)} s`;
}

const LEVELS: Record<NodeStatusJson['admission']['level'], string> = {
  open: 'Taking new calls',
  ramping: 'Taking new calls at a bounded pace (headroom low)',
  refusing: 'Refusing new calls with 503 (no headroom)',
};

function admissionText(status: NodeStatusJson): string {
  const { admission } = status;
  if (admission.storageRefusing) {
    return 'Refusing new calls with 503 (storage)';
  }
  if (status.activeSessions >= status.maxSessions) {
    return 'Refusing new calls with 503 (--max-sessions reached)';
  }
  if (!admission.enabled) {
    return 'Taking new calls (admission control off)';
  }
  return admission.reason === undefined
    ? LEVELS[admission.level]
    : `${LEVELS[admission.level]}: ${admission.reason}`;
}

function portsText(status: NodeStatusJson): string[] {
  const ports = status.ports;
  if (ports === undefined) {
    return ['not listening yet'];
  }
  return [
    `SIP ${String(ports.sipUdp)} UDP, ${String(ports.sipTcp)} TCP` +
      (ports.sipTls === undefined ? ' (TLS off)' : `, ${String(ports.sipTls)} TLS`),
    `${status.tls ? 'HTTPS' : 'HTTP'} ${String(ports.http)} (API, web apps, downloads)`,
    ports.rtsp === undefined ? 'RTSP off' : `RTSP ${String(ports.rtsp)}`,
    `RTP ${String(ports.rtpMin)}–${String(ports.rtpMax)} UDP`,
  ];
}

/**
 * The poll loop: the live figures every LIVE_MS while the page is visible (none while hidden, one
 * at once when it shows again), the hours every HISTORY_MS and whenever the calls in progress
 * change (a call that ended is then in its hour without waiting a minute).
 */
function useNodeStatus(): {
  live: NodeStatusJson | undefined;
  history: NodeStatusJson | undefined;
  error: string | undefined;
  retry: () => void;
} {
  const failureMessage = useFailureMessage();
  const [live, setLive] = useState<NodeStatusJson>();
  const [history, setHistory] = useState<NodeStatusJson>();
  const [error, setError] = useState<string>();
  const [attempt, setAttempt] = useState(0);
  const last = useRef<{ historyAt: number; active: number | undefined }>({ historyAt: 0, active: undefined });

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    // One request at a time: the page shown again while a poll is under way does not start another.
    let polling = false;
    const poll = async () => {
      window.clearTimeout(timer);
      timer = undefined;
      polling = true;
      try {
        const now = Date.now();
        const wantHistory = now - last.current.historyAt >= HISTORY_MS;
        let status = await nodeStatus(wantHistory ? hoursForWeek(now) : 0, controller.signal);
        if (!wantHistory && status.activeSessions !== last.current.active) {
          status = await nodeStatus(hoursForWeek(now), controller.signal);
          last.current.historyAt = Date.now();
          setHistory(status);
        } else if (wantHistory) {
          last.current.historyAt = Date.now();
          setHistory(status);
        }
        last.current.active = status.activeSessions;
        setLive(status);
        setError(undefined);
      } catch (failure) {
        if (controller.signal.aborted) {
          return;
        }
        const message = failureMessage(failure);
        if (message === undefined) {
          return;
        }
        setError(message);
      } finally {
        polling = false;
      }
      if (!controller.signal.aborted && document.visibilityState === 'visible') {
        timer = window.setTimeout(() => void poll(), LIVE_MS);
      }
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible' && timer === undefined && !polling) {
        void poll();
      }
    };
    last.current.historyAt = 0;
    document.addEventListener('visibilitychange', onVisibility);
    void poll();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [failureMessage, attempt]);

  return { live, history, error, retry: () => setAttempt((n) => n + 1) };
}

/** Administration: calls now, calls per hour and per day, packet loss, version, uptime, ports. */
export function NodeSection() {
  const { live, history, error, retry } = useNodeStatus();
  const day = useMemo(() => (history === undefined ? undefined : lastDay(history.hours)), [history]);
  const week = useMemo(
    () => (history === undefined ? undefined : lastWeek(history.hours, history.at)),
    [history],
  );
  // Redrawn when a minute is added or its peak changes, not on every poll.
  const minutes = live?.activeByMinute;
  const lastMinute = minutes?.at(-1);
  const minuteKey = `${String(minutes?.length ?? 0)}:${String(lastMinute?.minute ?? 0)}:${String(lastMinute?.peak ?? 0)}`;
  const callsNow = useMemo(() => {
    const first = minutes?.[0];
    if (minutes === undefined || first === undefined) {
      return undefined;
    }
    // At least the last hour on the axis, so a node started a minute ago is not one dot.
    const end = (minutes.at(-1)?.minute ?? first.minute) + MINUTE_MS;
    return {
      times: minutes.map((m) => m.minute),
      series: [{ label: 'Calls in progress (peak of the minute)', values: minutes.map((m) => m.peak) }],
      range: [Math.min(first.minute, end - HOUR_MS), end] as const,
    };
    // minuteKey stands for the minutes' content: the array itself is new on every poll.
  }, [minuteKey]);

  if (live === undefined) {
    return error === undefined ? (
      <Loading what="the node status" />
    ) : (
      <ErrorMessage message={error} onRetry={retry} />
    );
  }
  return (
    <div class="node-status">
      {error === undefined ? null : (
        <p class="error" role="alert">
          Could not refresh: {error}
        </p>
      )}
      <dl class="node-facts">
        <div>
          <dt>Calls now</dt>
          <dd id="calls-now">
            {live.activeSessions}
            <span class="node-fact-note"> of at most {live.maxSessions}</span>
          </dd>
        </div>
        <div>
          <dt>Admission</dt>
          <dd id="admission">{admissionText(live)}</dd>
        </div>
        <div>
          <dt>Calls in the last 24 hours</dt>
          <dd id="calls-last-day">{day === undefined ? '…' : day.totalCalls}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd id="node-version">Verbatim {live.productVersion}</dd>
        </div>
        <div>
          <dt>Uptime</dt>
          <dd id="node-uptime">{uptimeText(live.uptimeSeconds)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{new Date(live.startedAt).toLocaleString()}</dd>
        </div>
        <div>
          <dt>Node id</dt>
          <dd id="node-id">{live.nodeId}</dd>
        </div>
        <div>
          <dt>Addresses</dt>
          <dd>
            advertised {live.advertise}, listening on {live.bind}
          </dd>
        </div>
        <div class="node-ports">
          <dt>Ports</dt>
          <dd>
            <ul>
              {portsText(live).map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          </dd>
        </div>
      </dl>
      <p class="node-updated">
        Live figures updated {new Date(live.at).toLocaleTimeString()}, every {LIVE_MS / 1000} s while this
        page is shown.
        {Object.keys(live.admission.refusals).length === 0
          ? ' No call refused since the start.'
          : ` Refused since the start: ${Object.entries(live.admission.refusals)
              .map(([reason, count]) => `${reason} ${String(count)}`)
              .join(', ')}.`}
      </p>
      <div class="node-charts">
        {callsNow === undefined ? null : (
          <TimeChart
            title="Calls in progress, per minute since the node started (last 24 hours)"
            times={callsNow.times}
            series={callsNow.series}
            format={wholeNumber}
            counts
            timeRange={callsNow.range}
            timeFormat={hourLabel}
          />
        )}
        {day === undefined || week === undefined ? (
          <Loading what="calls per hour" />
        ) : (
          <>
            <TimeChart
              title="Calls per hour, last 24 hours"
              times={day.times}
              series={day.calls}
              format={wholeNumber}
              counts
              timeFormat={hourLabel}
            />
            <TimeChart
              title="Packet loss per hour, last 24 hours"
              times={day.times}
              series={day.loss}
              format={percent}
              minTop={1}
              timeFormat={hourLabel}
            />
            <TimeChart
              title="Calls per day, last 7 days"
              times={week.times}
              series={week.calls}
              format={wholeNumber}
              counts
              timeFormat={dayLabel}
            />
            <TimeChart
              title="Packet loss per day, last 7 days"
              times={week.times}
              series={week.loss}
              format={percent}
              minTop={1}
              timeFormat={dayLabel}
            />
          </>
        )}
      </div>
      <p class="node-updated">
        Calls count the sessions that started in each hour or day; packet loss is the share of the packets
        expected by their tracks that never arrived (sequence gaps). Both are read from the database, so they
        cover every node sharing it.
      </p>
    </div>
  );
}
