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
   * The value axis starts at zero (sizes, counts: a line near the top then reads as "nearly
   * full", not as the whole height); by default it fits the values.
   */
  readonly fromZero?: boolean;
}

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
  const { times, series, height, fromZero } = props;

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
        axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map(format), size: 70 }],
        ...(fromZero === true
          ? {
              scales: {
                y: {
                  range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [
                    0,
                    max > 0 ? max * 1.1 : 1,
                  ],
                },
              },
            }
          : {}),
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
  }, [times, series, height, format, fromZero]);

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
                  <td>{new Date(t).toLocaleString()}</td>
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
