import { ColorType, type DeepPartial, type ChartOptions } from 'lightweight-charts';

export const chartColors = {
  background: '#0f141b',
  text: '#9aa7b4',
  grid: '#1c2530',
  up: '#26a69a',
  down: '#ef5350',
  volatility: '#ff9800',
  schedule: '#42a5f5',
  manual: '#ba68c8',
  failed: '#ef5350',
  baseline: '#fbc02d',
};

export const darkChartOptions: DeepPartial<ChartOptions> = {
  autoSize: true,
  layout: { background: { type: ColorType.Solid, color: chartColors.background }, textColor: chartColors.text },
  grid: { vertLines: { color: chartColors.grid }, horzLines: { color: chartColors.grid } },
  timeScale: { timeVisible: true, secondsVisible: false, borderColor: chartColors.grid },
  rightPriceScale: { borderColor: chartColors.grid },
  crosshair: { mode: 0 },
};

/** Browser-local chart time in seconds (the chart's axis is UTC). */
export function localSeconds(ms: number): number {
  return Math.floor(ms / 1000) - new Date(ms).getTimezoneOffset() * 60;
}
