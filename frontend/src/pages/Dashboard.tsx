import { useMemo, useState } from 'react';
import { api, setPositionTpsl, unwrap } from '../api/client.ts';
import type { Balance, BalanceEvent, StrategyRun } from '../api/types.ts';
import { AccountCards } from '../components/AccountCards.tsx';
import { FillsTable, OrdersTable, PositionsTable } from '../components/AccountTables.tsx';
import { CandleChart, EquityChart } from '../components/LazyCharts.tsx';
import { MarketStrip } from '../components/MarketStrip.tsx';
import { DataState } from '../components/State.tsx';
import { useApiData } from '../hooks/useApiData.ts';
import { useEquitySnapshots } from '../hooks/useEquity.ts';
import { tickSizeMap, useInstruments } from '../hooks/useInstruments.ts';
import { useStreamEvent, useTickerOrder, useTickers } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';
import { type CandlePoint, type PriceLine, applyTick, barMs, toCandlePoints, toEquityPoints, toFillMarkers, toRunMarkers } from '../lib/chart-data.ts';
import { parseDecimal, stepDecimals, toNumber } from '../lib/decimal.ts';
import { parseTime } from '../lib/format.ts';
import { runsReducer } from '../lib/runs.ts';

const DEFAULT_BAR = '3m';
const BARS = ['1m', '3m', '5m', '15m', '1H', '4H', '1D'] as const;
export function Dashboard() {
  const { t } = useI18n();
  const order = useTickerOrder();
  const { byId: instruments } = useInstruments();
  const [chosen, setChosen] = useState<string | null>(null);
  const instId = chosen ?? order[0] ?? Object.keys(instruments)[0] ?? null;
  const feedBar = useTickers((state) => (instId ? state.byInstId[instId]?.ticker.bar : null)) || DEFAULT_BAR;
  const [chosenBar, setChosenBar] = useState<string | null>(null);
  const bar = chosenBar ?? feedBar;
  const length = barMs(bar);

  const candles = useApiData<CandlePoint[]>(
    async (signal) => (instId ? toCandlePoints((await unwrap(api.GET('/api/market/candles', { params: { query: { instId, bar, limit: 300 } }, signal }))).candles) : []),
    `candles:${instId}:${bar}`,
  );
  const runs = useApiData<StrategyRun[]>((signal) => (instId ? unwrap(api.GET('/api/model/strategy-runs', { params: { query: { instId, limit: 200 } }, signal })) : Promise.resolve([])), `runs:${instId}`);
  const balance = useApiData<Balance>((signal) => unwrap(api.GET('/api/account/balances', { signal })), 'balance', 60_000);
  const initialEquity = useApiData((signal) => unwrap(api.GET('/api/account/initial-equity', { signal })), 'initial-equity');
  const snapshots = useEquitySnapshots();
  const positions = useApiData(async (signal) => (await unwrap(api.GET('/api/account/positions', { signal }))).positions, 'positions', 15_000);
  const orders = useApiData(async (signal) => (await unwrap(api.GET('/api/account/orders', { params: { query: { state: 'open', limit: '100' } }, signal }))).orders, 'orders', 15_000);
  const fills = useApiData(async (signal) => (await unwrap(api.GET('/api/account/fills', { params: { query: { limit: '30' } }, signal }))).fills, 'fills', 30_000);
  const [liveBalanceAt, setLiveBalanceAt] = useState<number | null>(null);

  useStreamEvent('ticker', (payload) => {
    const ticker = payload as { instId?: string; last?: string; ts?: string };
    if (!instId || ticker.instId !== instId) return;
    const price = parseDecimal(ticker.last);
    const ts = parseTime(ticker.ts ?? null) ?? Date.now();
    if (price) candles.setData((previous) => (previous ? applyTick(previous, toNumber(price), ts, length) : previous));
  });
  useStreamEvent('run', (payload) => {
    const run = payload as StrategyRun;
    if (run && run.instId === instId) runs.setData((previous) => runsReducer(previous ?? [], { type: 'upsert', run }));
  });
  useStreamEvent('balance', (payload) => {
    // the event carries the new reading only; the rest (initial equity, details) stays from the GET
    const event = payload as BalanceEvent;
    balance.setData((previous) => (previous ? { ...previous, totalEq: event.totalEq, usdtAvailable: event.usdtAvailable, usdtFrozen: event.usdtFrozen, upl: event.upl, ts: event.ts } : previous));
    setLiveBalanceAt(Date.now());
  });

  const positionLines = useMemo(() => {
    const open = (positions.data ?? []).find((p) => p.instId === instId);
    if (!open) return [];
    const lines: PriceLine[] = [{ price: Number(open.avgPx), kind: 'entry', title: t('chart.entry') }];
    if (open.tpTriggerPx) lines.push({ price: Number(open.tpTriggerPx), kind: 'tp', title: 'TP' });
    if (open.slTriggerPx) lines.push({ price: Number(open.slTriggerPx), kind: 'sl', title: 'SL' });
    return lines.filter((line) => Number.isFinite(line.price) && line.price > 0);
  }, [positions.data, instId, t]);
  const markers = useMemo(() => toRunMarkers(runs.data ?? [], candles.data ?? [], length), [runs.data, candles.data, length]);
  const fillMarkers = useMemo(() => (instId ? toFillMarkers(fills.data ?? [], instId, candles.data ?? [], length) : []), [fills.data, instId, candles.data, length]);
  const equityPoints = useMemo(
    () => toEquityPoints(snapshots.data ?? [], balance.data?.totalEq && liveBalanceAt ? { totalEq: balance.data.totalEq, ts: liveBalanceAt } : null),
    [snapshots.data, balance.data, liveBalanceAt],
  );
  const initial = parseDecimal(initialEquity.data?.amount ?? null);
  const tickSizes = tickSizeMap(instruments);
  const priceDecimals = (instId ? stepDecimals(instruments[instId]?.tickSz) : null) ?? 2;

  return (
    <div className="page dashboard">
      <MarketStrip tickSizes={tickSizes} selected={instId ?? undefined} onSelect={setChosen} />
      <div className="grid grid-main">
        <section className="panel">
          <header className="panel-head">
            <h2>{t('chart.title')} · {instId ?? '—'}</h2>
            <select name="bar" aria-label={t('chart.timeframe')} value={bar} onChange={(e) => setChosenBar(e.target.value)} className="bar-select">
              {[...new Set([...BARS, bar])].map((b) => <option key={b} value={b}>{b}</option>)}
            </select>
            <span className="legend">{t('chart.legend')}</span>
          </header>
          <DataState data={candles.data} error={candles.error} loading={candles.loading} reload={candles.reload} isEmpty={(d) => d.length === 0}>
            {(data) => <CandleChart seriesKey={`${instId}:${bar}`} candles={data} markers={markers} priceDecimals={priceDecimals} priceLines={positionLines} fills={fillMarkers} />}
          </DataState>
        </section>
        <section className="panel">
          <header className="panel-head"><h2>{t('account.title')}</h2></header>
          {balance.error && !balance.data ? (
            <DataState data={balance.data} error={balance.error} loading={balance.loading} reload={balance.reload}>{() => null}</DataState>
          ) : (
            <AccountCards
              balance={balance.data}
              initialEquity={initialEquity.data}
              onSaveInitial={async (amount) => {
                const saved = await unwrap(api.POST('/api/account/initial-equity', { body: { amount } }));
                initialEquity.setData(() => saved);
                return saved;
              }}
            />
          )}
        </section>
      </div>
      <section className="panel">
        <header className="panel-head"><h2>{t('equity.title')}</h2></header>
        <DataState data={snapshots.data} error={snapshots.error} loading={snapshots.loading} reload={snapshots.reload} isEmpty={() => equityPoints.length === 0} empty={t('equity.none')}>
          {() => <EquityChart points={equityPoints} baseline={initial ? toNumber(initial) : null} baselineLabel={t('equity.baseline')} />}
        </DataState>
      </section>
      <section className="panel">
        <header className="panel-head"><h2>{t('positions.title')}</h2></header>
        <DataState data={positions.data} error={positions.error} loading={positions.loading} reload={positions.reload}>
          {(data) => (
            <PositionsTable
              positions={data}
              instruments={instruments}
              onSetTpsl={async (p, tpTriggerPx, slTriggerPx) => {
                await setPositionTpsl({ instId: p.instId, posSide: p.posSide as 'net' | 'long' | 'short', tpTriggerPx, slTriggerPx });
                positions.reload();
              }}
              onClose={async (p) => {
                await unwrap(api.POST('/api/trade/close-position', { body: { instId: p.instId, posSide: p.posSide as 'net' | 'long' | 'short' } }));
                balance.reload();
                positions.reload();
                orders.reload();
                fills.reload();
              }}
            />
          )}
        </DataState>
      </section>
      <div className="grid grid-two">
        <section className="panel">
          <header className="panel-head"><h2>{t('orders.title')}</h2></header>
          <DataState data={orders.data} error={orders.error} loading={orders.loading} reload={orders.reload}>
            {(data) => (
              <OrdersTable
                orders={data}
                instruments={instruments}
                onCancel={async (o) => {
                  await unwrap(api.POST('/api/trade/cancel', { body: o.ordId ? { instId: o.instId, ordId: o.ordId } : { instId: o.instId, clOrdId: o.clOrdId } }));
                  orders.reload();
                }}
              />
            )}
          </DataState>
        </section>
        <section className="panel">
          <header className="panel-head"><h2>{t('fills.title')}</h2></header>
          <DataState data={fills.data} error={fills.error} loading={fills.loading} reload={fills.reload}>
            {(data) => <FillsTable fills={data} instruments={instruments} />}
          </DataState>
        </section>
      </div>
    </div>
  );
}
