import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a time chart: a label and a value per time (null where there is none). */
export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  /** A CSS colour; defaults to the palette's next one. */
  readonly colour?: string;
}

export interface TimeChartProps {
  /** The chart's name, shown as its caption and given to assistive technology. */
  readonly title: string;
  /** Epoch milliseconds, ascending, one per value of every series. */
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
  /** How a value is written (axis, the data table): `12 %`, `3.4 GB`… */
  readonly format?: (value: number) => string;
  /** The chart's height in CSS pixels; its width follows its container. */
  readonly height?: number;
  /**
   * Counts (calls, sessions): the value axis starts at 0 and ticks only whole numbers, so that one
   * call is not drawn as a wave around 1 with ticks at 0.5.
   */
  readonly counts?: boolean;
  /**
   * The value axis starts at 0 and reaches at least this (a loss chart of 0 % then shows 0 to 1 %,
   * not a band around 0). Counts start at 0 and reach at least 1 without it.
   */
  readonly minTop?: number;
  /**
   * The time axis' span in epoch ms, when it must not follow the data (a series that began a
   * minute ago). A single time is otherwise shown with half an hour either side of it, rather
   * than uPlot's years.
   */
  readonly timeRange?: readonly [number, number];
  /** How the Time column of the data table writes a time (default: date and time). */
  readonly timeFormat?: (epochMs: number) => string;
}

/** Whole-number tick steps for counts (uPlot picks the first that spaces ticks well). */
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000, 1_000_000];

const dateTime = (epochMs: number): string => new Date(epochMs).toLocaleString();

const HALF_HOUR_S = 1800;

const PALETTE = ['#0a58ca', '#b42318', '#1a7f37', '#8250df'];

const plain = (value: number): string => String(Math.round(value * 100) / 100);

/**
 * A time-series chart (uPlot: canvas, a few kB, fast with thousands of points) that resizes with
 * its container. A canvas says nothing to a screen reader, so the figure carries a caption and
 * the numbers are also in a table behind a disclosure.
 */
export function TimeChart(props: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const format = props.format ?? plain;
  const { times, series, height, counts, minTop, timeRange } = props;
  const top = minTop ?? (counts === true ? 1 : undefined);
  const from = timeRange?.[0];
  const to = timeRange?.[1];
  const timeFormat = props.timeFormat ?? dateTime;

  useEffect(() => {
    const element = box.current;
    if (element === null) {
      return undefined;
    }
    const data: uPlot.AlignedData = [
      times.map((t) => t / 1000),
      ...series.map((s) => s.values.map((v) => v ?? null)),
    ];
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: height ?? 220,
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: s.colour ?? PALETTE[i % PALETTE.length] ?? '#0a58ca',
            width: 2,
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
          })),
        ],
        axes: [
          {},
          {
            values: (_u: uPlot, ticks: number[]) => ticks.map(format),
            size: 70,
            ...(counts === true ? { incrs: COUNT_STEPS } : {}),
          },
        ],
        scales: {
          x: {
            time: true,
            range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax =>
              from !== undefined && to !== undefined
                ? [from / 1000, to / 1000]
                : min === max
                  ? [min - HALF_HOUR_S, max + HALF_HOUR_S]
                  : [min, max],
          },
          ...(top === undefined
            ? {}
            : {
                // From 0, and at least to `top`, so that a quiet day still has an axis.
                y: {
                  range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [
                    0,
                    Math.max(top, max),
                  ],
                },
              }),
        },
      },
      data,
      element,
    );
    const observer = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(element.clientWidth, 200), height: height ?? 220 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [times, series, height, format, counts, top, from, to]);

  return (
    <figure class="time-chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={`${props.title}: chart; the values are in the table below`} />
      <details>
        <summary>{props.title}: the values</summary>
        {/* Focusable: a region that may scroll must be reachable by the keyboard (axe). */}
        <div class="table-scroll" role="region" aria-label={`${props.title}: the values`} tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((t, i) => (
                <tr key={t}>
                  <td>{timeFormat(t)}</td>
                  {series.map((s) => {
                    const v = s.values[i];
                    return <td key={s.label}>{v === null || v === undefined ? '–' : format(v)}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
