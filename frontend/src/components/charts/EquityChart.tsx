// Equity curve from the stored snapshots, coloured above / below the initial equity baseline.
import { useEffect, useRef } from 'react';
import { BaselineSeries, LineStyle, createChart, type IPriceLine, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { LinePoint } from '../../lib/chart-data.ts';
import { chartColors, darkChartOptions, localSeconds } from './chart-kit.ts';

export default function EquityChart({ points, baseline, baselineLabel }: { points: LinePoint[]; baseline: number | null; baselineLabel: string }) {
  const container = useRef<HTMLDivElement>(null);
  const seriesRef = useRef<ISeriesApi<'Baseline'> | null>(null);
  const lineRef = useRef<IPriceLine | null>(null);

  useEffect(() => {
    if (!container.current) return undefined;
    const chart = createChart(container.current, darkChartOptions);
    seriesRef.current = chart.addSeries(BaselineSeries, {
      topLineColor: chartColors.up, bottomLineColor: chartColors.down,
      topFillColor1: 'rgba(38,166,154,0.28)', topFillColor2: 'rgba(38,166,154,0.04)',
      bottomFillColor1: 'rgba(239,83,80,0.04)', bottomFillColor2: 'rgba(239,83,80,0.28)',
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 },
    });
    return () => {
      chart.remove();
      seriesRef.current = null;
      lineRef.current = null;
    };
  }, []);

  useEffect(() => {
    seriesRef.current?.setData(points.map((p) => ({ time: localSeconds(p.ts) as UTCTimestamp, value: p.value })));
  }, [points]);

  useEffect(() => {
    const series = seriesRef.current;
    if (!series) return;
    if (lineRef.current) series.removePriceLine(lineRef.current);
    lineRef.current = null;
    const base = baseline ?? points[0]?.value ?? 0;
    series.applyOptions({ baseValue: { type: 'price', price: base } });
    if (baseline !== null) {
      lineRef.current = series.createPriceLine({ price: baseline, color: chartColors.baseline, lineStyle: LineStyle.Dashed, lineWidth: 1, axisLabelVisible: true, title: baselineLabel });
    }
  }, [baseline, baselineLabel, points]);

  return <div ref={container} className="chart chart-equity" data-testid="equity-chart" />;
}
