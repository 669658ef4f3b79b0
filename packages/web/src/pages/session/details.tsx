import type { SessionJson } from '../../api/player.ts';
import type { HealthProblem } from '../../../../server/src/model/session-health.ts';
import { clock, lasting, when } from './format.ts';

/** A health problem as a sentence (docs/api.md "Recording health"). */
function problemText(problem: HealthProblem): string {
  switch (problem.kind) {
    case 'packet-loss':
      return `Track ${problem.trackNumber} lost ${problem.lost} of ${problem.expected} packets (${problem.percent} %).`;
    case 'gap':
      return `Track ${problem.trackNumber} had ${problem.gaps} gap${problem.gaps === 1 ? '' : 's'} in its media (${clock(problem.gapMs / 1000)} in all, the longest ${(problem.longestGapMs / 1000).toFixed(1)} s).`;
    case 'no-packets':
      return `Track ${problem.trackNumber} received no media.`;
    case 'silent-track':
      return `Track ${problem.trackNumber} carried only silence.`;
    case 'one-sided':
      return `One-sided call: track${problem.trackNumbers.length === 1 ? '' : 's'} ${problem.trackNumbers.join(', ')} never heard.`;
  }
}

function Health(props: { session: SessionJson }) {
  const { health } = props.session;
  return (
    <section aria-labelledby="health-heading">
      <h2 id="health-heading">Recording health</h2>
      {health.problems.length === 0 ? (
        <p class="health-ok">
          <span aria-hidden="true">✓ </span>Recorded well: no loss, gaps or silent party.
        </p>
      ) : (
        <ul class="health-problems">
          {health.problems.map((problem, i) => (
            <li key={i}>{problemText(problem)}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Participants(props: { session: SessionJson }) {
  const rows = props.session.tracks.flatMap((track) =>
    track.participants.map((p, i) => ({ track, p, key: `${track.trackNumber}-${i}` })),
  );
  return (
    <section aria-labelledby="participants-heading">
      <h2 id="participants-heading">Participants</h2>
      {rows.length === 0 ? (
        <p class="empty">No participants recorded.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Track</th>
                <th scope="col">Device ref</th>
                <th scope="col">Name or agent</th>
                <th scope="col">Device</th>
                <th scope="col">xRefCi</th>
                <th scope="col">Joined at</th>
                <th scope="col">Stayed</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ track, p, key }) => {
                const agent = [p.agentFirstName, p.agentLastName].filter((x) => x !== undefined).join(' ');
                const agentText =
                  p.loginId === undefined && agent === ''
                    ? ''
                    : `agent ${agent === '' ? (p.loginName ?? '') : agent}${p.loginId === undefined ? '' : ` (${p.loginId})`}`;
                return (
                  <tr key={key}>
                    <td>{track.trackNumber}</td>
                    <td>
                      {p.deviceRef}
                      {p.isConference ? ' (conference)' : ''}
                    </td>
                    <td>{[p.name, agentText].filter((x) => x !== undefined && x !== '').join(', ')}</td>
                    <td>{p.deviceId ?? ''}</td>
                    <td>{p.xRefCi ?? ''}</td>
                    <td>{clock((p.participantStartDate - props.session.sessionStartDate) / 1000)}</td>
                    <td>{lasting(p.participantDuration)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Tracks(props: { session: SessionJson }) {
  const { session } = props;
  return (
    <section aria-labelledby="tracks-heading">
      <h2 id="tracks-heading">Tracks</h2>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Track</th>
              <th scope="col">Media</th>
              <th scope="col">Codec</th>
              <th scope="col">Participants</th>
              <th scope="col">Packets</th>
              <th scope="col">Lost</th>
              <th scope="col">Jitter</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            {session.tracks.map((track) => {
              const figures = session.health.tracks.find((t) => t.trackNumber === track.trackNumber);
              const problems = session.health.problems.filter((p) =>
                'trackNumber' in p
                  ? p.trackNumber === track.trackNumber
                  : p.trackNumbers.includes(track.trackNumber),
              );
              return (
                <tr key={track.trackNumber}>
                  <td>
                    {track.trackNumber}
                    {track.trackMediaType === 'AUDIO' && track.trackNumber < 2
                      ? track.trackNumber === 0
                        ? ' (left)'
                        : ' (right)'
                      : ''}
                  </td>
                  <td>{track.trackMediaType}</td>
                  <td>{track.codec === '' ? 'not known' : track.codec}</td>
                  <td>{track.participants.map((p) => p.deviceRef).join(', ')}</td>
                  <td>{track.stats.packets}</td>
                  <td>{figures === undefined ? '' : `${figures.lost} (${figures.lossPercent} %)`}</td>
                  <td>{track.stats.jitterMs.toFixed(1)} ms</td>
                  <td>{problems.length === 0 ? 'ok' : problems.map((p) => p.kind).join(', ')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Identifiers(props: { session: SessionJson }) {
  const { session } = props;
  const xRefCis = session.tracks
    .flatMap((t) => t.participants.map((p) => p.xRefCi))
    .filter((x) => x !== undefined);
  const entries: [string, string][] = [
    ['Session id', session.sessionId],
    ['ccid', session.ccid],
    ['Call controller', `${session.callControllerType} ${session.callControllerIP}`.trim()],
    ...(xRefCis.length === 0 ? [] : [['xRefCi', xRefCis.join(', ')] as [string, string]]),
    ...Object.entries(session.correlation ?? {}),
  ];
  return (
    <section aria-labelledby="ids-heading">
      <h2 id="ids-heading">Correlation ids</h2>
      <dl class="session-facts">
        {entries.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value === '' ? '—' : value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** The session's facts: when, who, which tracks, how well recorded, and its identifiers. */
export function SessionSummary(props: { session: SessionJson }) {
  const { session } = props;
  return (
    <dl class="session-facts summary">
      <div>
        <dt>State</dt>
        <dd>{session.sessionState}</dd>
      </div>
      <div>
        <dt>Started</dt>
        <dd>{when(session.sessionStartDate)}</dd>
      </div>
      <div>
        <dt>Duration</dt>
        <dd>{lasting(session.sessionDuration)}</dd>
      </div>
      <div>
        <dt>Health</dt>
        <dd>{session.health.status === 'ok' ? 'ok' : `degraded (${session.health.problems.length})`}</dd>
      </div>
      {session.closeReason === undefined ? null : (
        <div>
          <dt>Ended because</dt>
          <dd>{session.closeReason}</dd>
        </div>
      )}
    </dl>
  );
}

export function SessionDetails(props: { session: SessionJson }) {
  return (
    <div class="session-details">
      <Participants session={props.session} />
      <Tracks session={props.session} />
      <Health session={props.session} />
      <Identifiers session={props.session} />
    </div>
  );
}
