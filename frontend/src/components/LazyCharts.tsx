import { Suspense, lazy, type ComponentProps } from 'react';
import { Loading } from './State.tsx';

// Chart code (lightweight-charts) stays out of the initial bundle.
const CandleChartImpl = lazy(() => import('./charts/CandleChart.tsx'));
const EquityChartImpl = lazy(() => import('./charts/EquityChart.tsx'));

export function CandleChart(props: ComponentProps<typeof CandleChartImpl>) {
  return (
    <Suspense fallback={<div className="chart"><Loading /></div>}>
      <CandleChartImpl {...props} />
    </Suspense>
  );
}

export function EquityChart(props: ComponentProps<typeof EquityChartImpl>) {
  return (
    <Suspense fallback={<div className="chart chart-equity"><Loading /></div>}>
      <EquityChartImpl {...props} />
    </Suspense>
  );
}
