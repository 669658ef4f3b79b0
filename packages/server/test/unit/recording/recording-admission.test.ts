import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { MediaLoad } from '../../../src/media/media-engine.js';
import {
  answered,
  cucmFrom,
  FakeHostProbe,
  invite,
  setUp,
  type FakeInvite,
  type RecordingSetUp,
} from '../../support/recording-fakes.js';

/**
 * Admission control inside RecordingService (issue 8 points 2 and 3): the decision reads the media
 * engine's load and the host probe at most every 250 ms of the service's clock (its default); refusals are 503
 * with Retry-After, counted by reason, logged once per reason per second and published; the two
 * INVITEs of a CUCM call are taken or refused together.
 */

const START_MS = 1_795_597_925_000;
const SAMPLE_MS = 250;

interface AdmissionSetUp extends RecordingSetUp {
  host: FakeHostProbe;
  load: { workerLagMs: number; kernelReceiveDrops: number };
  /** Every log line the service wrote, parsed. */
  lines: Record<string, unknown>[];
  /** Moves the service's clock to the next sampling interval. */
  readonly nextSample: () => void;
}

function setUpAdmission(enabled = true): AdmissionSetUp {
  const host = new FakeHostProbe();
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const setup = setUp({
    startMs: START_MS,
    admission: { enabled, maxLagMs: 200, host },
    logger: pino({ level: 'info' }, sink),
  });
  const load = { workerLagMs: 1, workerMaxWaitMs: 1, kernelReceiveDrops: 0 };
  setup.media.load = (): MediaLoad => ({ ...load, pendingWriteBytes: 0, streams: setup.media.open.size });
  return {
    ...setup,
    host,
    load,
    lines,
    nextSample: () => {
      setup.clock.nowMs += SAMPLE_MS;
    },
  };
}

let callNumber = 0;
/** A generic early-offer call (one session per INVITE). */
function call(): FakeInvite {
  callNumber++;
  return invite(
    `<sip:caller${callNumber}@10.0.0.9>;tag=t${callNumber}`,
    {
      type: 'application/sdp',
      content:
        'v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\na=sendonly\r\n',
    },
    `call-${callNumber}`,
  );
}

async function offer(service: RecordingSetUp['service'], invites: readonly FakeInvite[]): Promise<void> {
  for (const i of invites) {
    service.onInvite(i);
  }
  await Promise.all(invites.map((i) => answered(i)));
}

function retryAfterOf(i: FakeInvite): string | undefined {
  return i.rejection?.headers.find((h) => h.name === 'Retry-After')?.value;
}

void describe('RecordingService: admission by headroom', () => {
  void it('refuses new calls with 503 Retry-After 10 while the media workers lag, and takes them again when the lag is gone', async () => {
    const { service, load, events, repository, nextSample } = setUpAdmission();
    const before = call();
    await offer(service, [before]);
    assert.ok(before.answer, 'a calm node takes the call');

    load.workerLagMs = 250;
    nextSample();
    const refused = call();
    await offer(service, [refused]);
    assert.equal(refused.rejection?.status, 503);
    assert.equal(retryAfterOf(refused), '10');
    const event = events.find((e) => e.eventType === 'RECORDING_EVENT' && e.eventAction === 'REJECTED');
    assert.ok(event !== undefined);
    assert.equal(event.callId, refused.callId);
    assert.equal(event.sipStatus, 503);
    assert.equal(event.reason, 'no headroom: media workers lagging (media-lag)');
    assert.deepEqual(service.admission().refusals, { 'media-lag': 1 });
    assert.equal(service.admission().level, 'refusing');

    load.workerLagMs = 1;
    nextSample();
    const back = call();
    await offer(service, [back]);
    assert.ok(back.answer, 'headroom back: the call is taken (one per sample while ramping)');
    await service.settled();
    assert.equal(repository.sessions.size, 2, 'the call in progress and the one taken after');
    assert.deepEqual(
      service.admission().entered,
      [
        { level: 'refusing', reason: 'media-lag', count: 1 },
        { level: 'ramping', reason: 'media-lag', count: 1 },
      ],
      'which signal put the node in each state, for /metrics',
    );
  });

  void it('while ramping takes one new session per second; the others get 503 Retry-After 1', async () => {
    const { service, load, clock, nextSample } = setUpAdmission();
    load.workerLagMs = 60;
    const burst = [call(), call(), call(), call(), call()];
    await offer(service, burst);
    assert.deepEqual(
      burst.map((i) => i.rejection?.status ?? 200),
      [200, 503, 503, 503, 503],
    );
    assert.deepEqual(
      burst.slice(1).map((i) => retryAfterOf(i)),
      ['1', '1', '1', '1'],
    );
    nextSample();
    const sameSecond = call();
    await offer(service, [sameSecond]);
    assert.equal(sameSecond.rejection?.status, 503, 'a new sample in the same second gives no more');
    clock.nowMs += 1000;
    const next = [call(), call()];
    await offer(service, next);
    assert.deepEqual(
      next.map((i) => i.rejection?.status ?? 200),
      [200, 503],
    );
    assert.deepEqual(service.admission().refusals, { 'ramp-limit': 6 });
  });

  void it('a main thread far behind refuses too', async () => {
    const { service, host } = setUpAdmission();
    host.eventLoopDelay = 1200;
    const refused = call();
    await offer(service, [refused]);
    assert.equal(refused.rejection?.status, 503);
    assert.deepEqual(service.admission().refusals, { 'event-loop-delay': 1 });
  });

  void it('logs a refusal once per reason per second, at warn, with the count and no stack', async () => {
    const { service, load, lines, clock } = setUpAdmission();
    load.workerLagMs = 250;
    await offer(service, [call(), call(), call()]);
    const refusalLines = (): Record<string, unknown>[] =>
      lines.filter((l) => typeof l.msg === 'string' && l.msg.endsWith('INVITE refused with 503'));
    assert.equal(refusalLines().length, 1, 'one line for the first of a flood');
    const first = refusalLines()[0]!;
    assert.equal(first.level, 40);
    assert.equal(first.reason, 'media-lag');
    assert.equal(first.refused, 1);
    assert.equal(first.retryAfter, 10);
    assert.equal(first.msg, 'no headroom: media workers lagging (media-lag): INVITE refused with 503');
    assert.equal(first.err, undefined);
    assert.equal(first.stack, undefined);
    assert.ok(
      lines.some(
        (l) =>
          l.msg === 'no headroom: new calls are refused with 503' &&
          l.level === 40 &&
          l.admission === 'refusing' &&
          l.reason === 'media-lag',
      ),
      'the change of level is logged',
    );

    clock.nowMs += 1000;
    await offer(service, [call()]);
    assert.equal(refusalLines().length, 2, 'a second later, the next sample logs the ones held back');
    assert.equal(refusalLines()[1]!.refused, 2);
    await service.close();
    assert.equal(refusalLines().length, 3, 'closing logs what is still held back');
    assert.equal(refusalLines()[2]!.refused, 1);
  });

  void it('--max-sessions stays a hard cap, counted under its own reason', async () => {
    const host = new FakeHostProbe();
    const { service } = setUp({
      startMs: START_MS,
      maxSessions: 1,
      admission: { enabled: true, maxLagMs: 200, host },
    });
    const calls = [call(), call()];
    await offer(service, calls);
    assert.deepEqual(
      calls.map((i) => [i.rejection?.status ?? 200, retryAfterOf(i)]),
      [
        [200, undefined],
        [503, '5'],
      ],
    );
    assert.deepEqual(service.admission().refusals, { 'max-sessions': 1 });
    assert.equal(service.counters.overloaded, 1);
  });

  void it('off (--admission off): lag refuses nothing', async () => {
    const { service, load } = setUpAdmission(false);
    load.workerLagMs = 5000;
    const calls = [call(), call(), call()];
    await offer(service, calls);
    assert.ok(calls.every((i) => i.answer !== undefined));
    assert.deepEqual(service.admission().refusals, {});
  });

  void it('closing the service stops the host probe', async () => {
    const { service, host } = setUpAdmission();
    await offer(service, [call()]);
    await service.close();
    assert.ok(host.closed);
  });
});

void describe('RecordingService: the two INVITEs of a CUCM call are taken or refused together', () => {
  for (const order of [
    ['x-nearend', 'x-farend'],
    ['x-farend', 'x-nearend'],
  ] as const) {
    void it(`refused first leg (${order[0]}): its partner is refused too, even once headroom is back`, async () => {
      const { service, load, media, events, nextSample } = setUpAdmission();
      load.workerLagMs = 250;
      const first = invite(cucmFrom(order[0]));
      await offer(service, [first]);
      assert.equal(first.rejection?.status, 503);

      load.workerLagMs = 1;
      for (let i = 0; i < 8; i++) {
        nextSample();
      }
      const second = invite(cucmFrom(order[1]));
      await offer(service, [second]);
      assert.equal(second.rejection?.status, 503);
      assert.equal(retryAfterOf(second), '10', "the partner's Retry-After");
      assert.equal(media.specs.size, 0, 'no leg recorded');
      assert.deepEqual(service.admission().refusals, { 'media-lag': 1, 'partner-refused': 1 });
      assert.deepEqual(
        events.flatMap((e) =>
          e.eventType === 'RECORDING_EVENT' && e.eventAction === 'REJECTED' ? [e.reason] : [],
        ),
        ['no headroom: media workers lagging (media-lag)', 'other leg of this CUCM call refused'],
      );

      const otherCall = invite(cucmFrom('x-nearend', '555001'));
      await offer(service, [otherCall]);
      assert.ok(otherCall.answer, 'another call is taken');
    });

    void it(`accepted first leg (${order[0]}): its partner joins even when the node is refusing`, async () => {
      const { service, load, media, repository, nextSample } = setUpAdmission();
      const first = invite(cucmFrom(order[0]));
      await offer(service, [first]);
      assert.ok(first.answer);

      load.workerLagMs = 250;
      nextSample();
      const second = invite(cucmFrom(order[1]));
      await offer(service, [second]);
      assert.ok(second.answer, 'the second leg joins its session');
      await service.settled();
      assert.equal(repository.sessions.size, 1);
      assert.equal(repository.sessions.values().next().value?.tracks.length, 2);
      assert.equal(media.specs.size, 2);

      const newCall = invite(cucmFrom('x-nearend', '555002'));
      await offer(service, [newCall]);
      assert.equal(newCall.rejection?.status, 503, 'a new call is refused');
    });
  }

  void it('the controller retrying a refused call later is judged anew, and both legs are then taken', async () => {
    const { service, load, repository, nextSample } = setUpAdmission();
    load.workerLagMs = 250;
    const first = { near: invite(cucmFrom('x-nearend')), far: invite(cucmFrom('x-farend')) };
    await offer(service, [first.near, first.far]);
    assert.equal(first.near.rejection?.status, 503);
    assert.equal(first.far.rejection?.status, 503);

    load.workerLagMs = 1;
    for (let i = 0; i < 8; i++) {
      nextSample();
    }
    const retry = { near: invite(cucmFrom('x-nearend')), far: invite(cucmFrom('x-farend')) };
    await offer(service, [retry.near, retry.far]);
    assert.ok(retry.near.answer && retry.far.answer, 'the same call-leg ids, taken this time');
    await service.settled();
    assert.equal(repository.sessions.size, 1);
  });

  void it('both legs racing into a refusing node are both refused', async () => {
    const { service, load, media } = setUpAdmission();
    load.workerLagMs = 250;
    const near = invite(cucmFrom('x-nearend'));
    const far = invite(cucmFrom('x-farend'));
    await offer(service, [near, far]);
    assert.equal(near.rejection?.status, 503);
    assert.equal(far.rejection?.status, 503);
    assert.equal(media.specs.size, 0);
  });

  void it('a ramping node takes both legs of the one call its budget allows', async () => {
    const { service, load, media, repository } = setUpAdmission();
    load.workerLagMs = 60;
    const a = { near: invite(cucmFrom('x-nearend', '700001')), far: invite(cucmFrom('x-farend', '700001')) };
    const b = { near: invite(cucmFrom('x-nearend', '700002')), far: invite(cucmFrom('x-farend', '700002')) };
    await offer(service, [a.near, b.near, b.far, a.far]);
    assert.ok(a.near.answer && a.far.answer, 'call a: both legs');
    assert.equal(b.near.rejection?.status, 503);
    assert.equal(b.far.rejection?.status, 503);
    await service.settled();
    assert.equal(repository.sessions.size, 1);
    assert.equal(media.specs.size, 2);
  });
});
