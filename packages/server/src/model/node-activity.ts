/**
 * Calls and packet loss per hour (issue 14, Administration's node status), computed from the
 * database so that it covers every node sharing it and survives restarts.
 */

export const HOUR_MS = 3_600_000;

/** One hour of activity: the sessions that started in it and their tracks' packet counts. */
export interface HourActivity {
  /** The hour's start, epoch ms, a multiple of an hour (UTC hours). */
  readonly hourStart: number;
  /** Sessions whose start falls in the hour (any state, deleted ones too: the calls took place). */
  readonly sessions: number;
  /** RTP packets received by the tracks that started in the hour. */
  readonly packetsReceived: number;
  /** Packets lost on the way (sequence gaps): expected = received + lost. */
  readonly packetsLost: number;
}

export interface NodeActivityStore {
  /**
   * Activity per hour for the hours from `fromHour` (inclusive) to `toHour` (exclusive), both
   * multiples of an hour; hours without any session are absent.
   */
  hourlyActivity(fromHour: number, toHour: number): Promise<HourActivity[]>;
}

/** The hours from `fromHour` to `toHour` (exclusive), every one present, zero where none was stored. */
export function fillHours(rows: readonly HourActivity[], fromHour: number, toHour: number): HourActivity[] {
  const byHour = new Map(rows.map((row) => [row.hourStart, row]));
  const hours: HourActivity[] = [];
  for (let hour = fromHour; hour < toHour; hour += HOUR_MS) {
    hours.push(byHour.get(hour) ?? { hourStart: hour, sessions: 0, packetsReceived: 0, packetsLost: 0 });
  }
  return hours;
}
