// Candlestick chart with strategy runs marked by source. Loaded lazily (lightweight-charts is
// the biggest dependency and the dashboard is usable before it arrives).
import { useEffect, useRef } from 'react';
import { CandlestickSeries, LineStyle, createChart, type IPriceLine, createSeriesMarkers, type IChartApi, type ISeriesApi, type ISeriesMarkersPluginApi, type SeriesMarker, type Time, type UTCTimestamp } from 'lightweight-charts';
import { type CandlePoint, type FillMarker, type PriceLine, type RunMarker, type ShownSeries, chartUpdateKind, groupRunMarkers } from '../../lib/chart-data.ts';
import { chartColors, darkChartOptions, localSeconds } from './chart-kit.ts';

const SOURCE_LETTER = { volatility: 'V', schedule: 'S', manual: 'M' } as const;

/** `seriesKey` names whose candles these are (instrument and bar): another key always replaces the data. */
export default function CandleChart({ seriesKey, candles, markers, priceDecimals, priceLines = [], fills = [] }: { seriesKey: string; candles: CandlePoint[]; markers: RunMarker[]; priceDecimals: number; priceLines?: PriceLine[]; fills?: FillMarker[] }) {
  const linesRef = useRef<IPriceLine[]>([]);
  const container = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const seriesRef = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const markersRef = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const shown = useRef<ShownSeries | null>(null);

  useEffect(() => {
    if (!container.current) return undefined;
    const chart = createChart(container.current, darkChartOptions);
    const series = chart.addSeries(CandlestickSeries, {
      upColor: chartColors.up, downColor: chartColors.down, borderVisible: false, wickUpColor: chartColors.up, wickDownColor: chartColors.down,
    });
    chartRef.current = chart;
    seriesRef.current = series;
    markersRef.current = createSeriesMarkers(series, []);
    return () => {
      chart.remove();
      chartRef.current = null;
      seriesRef.current = null;
      markersRef.current = null;
      shown.current = null;
    };
  }, []);

  useEffect(() => {
    seriesRef.current?.applyOptions({ priceFormat: { type: 'price', precision: priceDecimals, minMove: 10 ** -priceDecimals } });
  }, [priceDecimals]);

  useEffect(() => {
    const series = seriesRef.current;
    if (!series) return;
    const toBar = (c: CandlePoint) => ({ time: localSeconds(c.ts) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close });
    const first = candles[0];
    const last = candles[candles.length - 1];
    const next = first ? { seriesKey, firstTs: first.ts, length: candles.length } : null;
    const previous = shown.current;
    // live ticks touch only the last bar (or add one): update() keeps the user's scroll and zoom
    if (last && chartUpdateKind(previous, next) === 'update') {
      series.update(toBar(last));
    } else {
      series.setData(candles.map(toBar));
      if (!previous || previous.seriesKey !== seriesKey) chartRef.current?.timeScale().fitContent();
    }
    shown.current = next;
    // what the series really holds, for the end-to-end tests (a canvas cannot be read)
    const held = series.data();
    const heldLast = held[held.length - 1] as { close?: number } | undefined;
    if (container.current) {
      container.current.dataset.seriesKey = seriesKey;
      container.current.dataset.bars = String(held.length);
      container.current.dataset.lastClose = heldLast?.close !== undefined ? String(heldLast.close) : '';
    }
  }, [candles, seriesKey]);

  useEffect(() => {
    const runs: SeriesMarker<Time>[] = groupRunMarkers(markers).map((m) => ({
      time: localSeconds(m.ts) as UTCTimestamp,
      position: 'aboveBar',
      shape: m.status === 'failed' ? 'square' : 'arrowDown',
      color: m.status === 'failed' ? chartColors.failed : chartColors[m.source],
      text: m.count > 1 ? `${SOURCE_LETTER[m.source]}×${m.count}` : SOURCE_LETTER[m.source],
    }));
    const trades: SeriesMarker<Time>[] = fills.map((f) => ({
      time: localSeconds(f.ts) as UTCTimestamp,
      position: f.side === 'buy' ? 'belowBar' : 'aboveBar',
      shape: f.side === 'buy' ? 'arrowUp' : 'arrowDown',
      color: f.side === 'buy' ? chartColors.up : chartColors.down,
      text: `${f.side === 'buy' ? 'buy' : 'sell'}${f.count > 1 ? ` ×${f.count}` : ''}`,
    }));
    // the markers plugin wants them in time order
    markersRef.current?.setMarkers([...runs, ...trades].sort((a, b) => (a.time as number) - (b.time as number)));
    if (container.current) container.current.dataset.fillMarkers = String(trades.length);
  }, [markers, fills]);

  useEffect(() => {
    const series = seriesRef.current;
    if (!series) return;
    for (const line of linesRef.current) series.removePriceLine(line);
    const color = { entry: chartColors.baseline, tp: chartColors.up, sl: chartColors.down } as const;
    linesRef.current = priceLines.map((line) => series.createPriceLine({ price: line.price, color: color[line.kind], lineStyle: line.kind === 'entry' ? LineStyle.Solid : LineStyle.Dashed, lineWidth: 1, axisLabelVisible: true, title: line.title }));
    if (container.current) container.current.dataset.priceLines = priceLines.map((line) => line.kind).join(',');
  }, [priceLines]);

  return <div ref={container} className="chart" data-testid="candle-chart" />;
}
