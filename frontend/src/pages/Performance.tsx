// Performance: closed positions with realised PnL and close reason, headline statistics (win rate,
// profit factor, fees, max drawdown), daily PnL, PnL by origin, the equity curve against the initial
// equity, order history and fills, over a chosen period; the closed positions export as CSV.
import { useMemo, useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import type { Fill, Order, PositionRecord } from '../api/types.ts';
import { EquityChart } from '../components/LazyCharts.tsx';
import { OriginLabel } from '../components/OriginLabel.tsx';
import { DataState, Empty } from '../components/State.tsx';
import { useApiData } from '../hooks/useApiData.ts';
import { useEquitySnapshots } from '../hooks/useEquity.ts';
import { useInstruments } from '../hooks/useInstruments.ts';
import { useNow } from '../hooks/useNow.ts';
import { useI18n } from '../i18n.tsx';
import { toEquityPoints } from '../lib/chart-data.ts';
import { parseDecimal, toNumber } from '../lib/decimal.ts';
import { contractsKey, formatDateTime, formatDecimal, formatPct, formatPrice, formatUsd, parseTime } from '../lib/format.ts';
import type { MessageKey } from '../lib/i18n-messages.ts';
import { type Period, PERIODS, byOrigin, closedPositionsCsv, dailyPnl, inPeriod, maxDrawdown, performanceStats, periodStart } from '../lib/performance.ts';
import { pageOf } from '../lib/run-filter.ts';

const HISTORY_LIMIT = '1000';
const PAGE_SIZE = 20;

function tone(value: string | null | undefined): string {
  const parsed = parseDecimal(value);
  return !parsed || parsed.coef === 0n ? '' : parsed.coef > 0n ? 'up' : 'down';
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Pager({ page, pages, onPage, testId }: { page: number; pages: number; onPage: (p: number) => void; testId: string }) {
  const { t } = useI18n();
  if (pages <= 1) return null;
  return (
    <div className="pager" data-testid={testId}>
      <button type="button" className="btn btn-small" disabled={page === 0} onClick={() => onPage(page - 1)}>‹</button>
      <span className="muted small">{t('common.page', { page: page + 1, pages })}</span>
      <button type="button" className="btn btn-small" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>›</button>
    </div>
  );
}

export function Performance() {
  const { t } = useI18n();
  const now = useNow(60_000);
  const { byId: instruments } = useInstruments();
  const [period, setPeriod] = useState<Period>('7d');
  const [closedPage, setClosedPage] = useState(0);
  const [ordersPage, setOrdersPage] = useState(0);
  const [fillsPage, setFillsPage] = useState(0);
  const closed = useApiData<PositionRecord[]>(async (signal) => (await unwrap(api.GET('/api/account/positions/history', { params: { query: { limit: HISTORY_LIMIT } }, signal }))).positions, 'positions-history', 60_000);
  const fills = useApiData<Fill[]>(async (signal) => (await unwrap(api.GET('/api/account/fills', { params: { query: { limit: HISTORY_LIMIT } }, signal }))).fills, 'fills-history', 60_000);
  const orders = useApiData<Order[]>(async (signal) => (await unwrap(api.GET('/api/account/orders', { params: { query: { state: 'all', limit: HISTORY_LIMIT } }, signal }))).orders, 'orders-history', 60_000);
  const initialEquity = useApiData((signal) => unwrap(api.GET('/api/account/initial-equity', { signal })), 'initial-equity');
  const snapshots = useEquitySnapshots();

  const start = periodStart(period, now);
  const closedIn = useMemo(() => (closed.data ?? []).filter((p) => inPeriod(p.closedAt, start)), [closed.data, start]);
  const fillsIn = useMemo(() => (fills.data ?? []).filter((f) => inPeriod(f.filledAt, start)), [fills.data, start]);
  const ordersIn = useMemo(() => (orders.data ?? []).filter((o) => inPeriod(o.createdAt, start)), [orders.data, start]);
  const stats = useMemo(() => performanceStats(closedIn, fillsIn), [closedIn, fillsIn]);
  const origins = useMemo(() => byOrigin(fillsIn), [fillsIn]);
  const days = useMemo(() => dailyPnl(closedIn), [closedIn]);
  const equity = useMemo(() => toEquityPoints((snapshots.data ?? []).filter((s) => start === null || (parseTime(s.ts) ?? 0) >= start)), [snapshots.data, start]);
  const drawdown = useMemo(() => maxDrawdown(equity), [equity]);
  const initial = parseDecimal(initialEquity.data?.amount ?? null);
  const profitFactor = stats.profitFactor === null ? '—' : stats.profitFactor === Infinity ? '∞' : stats.profitFactor.toFixed(2);

  const closedRows = pageOf(closedIn, closedPage, PAGE_SIZE);
  const orderRows = pageOf(ordersIn, ordersPage, PAGE_SIZE);
  const fillRows = pageOf(fillsIn, fillsPage, PAGE_SIZE);

  return (
    <div className="page performance">
      <header className="panel-head">
        <h1 className="page-title">{t('perf.title')}</h1>
        <div className="segmented" role="group" aria-label={t('perf.period')}>
          {PERIODS.map((p) => (
            <button key={p} type="button" className={`btn btn-small ${period === p ? 'btn-active' : ''}`} aria-pressed={period === p} onClick={() => { setPeriod(p); setClosedPage(0); setOrdersPage(0); setFillsPage(0); }}>
              {t(`perf.period.${p}` as MessageKey)}
            </button>
          ))}
        </div>
        <button type="button" className="btn btn-small" data-testid="export-csv" disabled={closedIn.length === 0} onClick={() => download(`aitrader-closed-positions-${period}.csv`, closedPositionsCsv(closedIn))}>
          {t('perf.exportCsv')}
        </button>
      </header>
      <div className="cards cards-wide" data-testid="perf-stats">
        <div className="card stat"><span className="stat-label">{t('perf.realizedPnl')}</span><span className={`stat-value ${tone(stats.realizedPnl)}`} data-testid="perf-pnl">{formatUsd(stats.realizedPnl, { signed: true })} USDT</span></div>
        <div className="card stat"><span className="stat-label">{t('perf.trades')}</span><span className="stat-value" data-testid="perf-trades">{stats.trades}</span><span className="stat-sub">{t('perf.winsLosses', { wins: stats.wins, losses: stats.losses })}</span></div>
        <div className="card stat"><span className="stat-label">{t('perf.winRate')}</span><span className="stat-value" data-testid="perf-winrate">{stats.winRate === null ? '—' : `${(stats.winRate * 100).toFixed(1)}%`}</span></div>
        <div className="card stat"><span className="stat-label">{t('perf.profitFactor')}</span><span className="stat-value" data-testid="perf-pf">{profitFactor}</span></div>
        <div className="card stat"><span className="stat-label">{t('perf.fees')}</span><span className="stat-value">{formatDecimal(stats.fees, 4)} USDT</span></div>
        <div className="card stat"><span className="stat-label">{t('perf.maxDrawdown')}</span><span className="stat-value down" data-testid="perf-dd">{formatUsd(drawdown.amount)} USDT</span><span className="stat-sub">{formatPct(-drawdown.pct * 100)}</span></div>
      </div>
      <section className="panel">
        <header className="panel-head"><h2>{t('equity.title')}</h2></header>
        <DataState data={snapshots.data} error={snapshots.error} loading={snapshots.loading} reload={snapshots.reload} isEmpty={() => equity.length === 0} empty={t('equity.none')}>
          {() => <EquityChart points={equity} baseline={initial ? toNumber(initial) : null} baselineLabel={t('equity.baseline')} />}
        </DataState>
      </section>
      <div className="grid grid-two">
        <section className="panel">
          <header className="panel-head"><h2>{t('perf.byOrigin')}</h2></header>
          {origins.length === 0 ? <Empty>{t('fills.none')}</Empty> : (
            <div className="table-wrap">
              <table data-testid="perf-origins">
                <thead><tr><th>{t('col.origin')}</th><th className="num">{t('perf.fills')}</th><th className="num">{t('perf.pnl')}</th><th className="num">{t('col.fee')}</th></tr></thead>
                <tbody>
                  {origins.map((row) => (
                    <tr key={row.group}>
                      <td>{t(`origin.group.${row.group}` as MessageKey)}</td>
                      <td className="num">{row.fills}</td>
                      <td className={`num ${tone(row.pnl)}`}>{formatUsd(row.pnl, { signed: true })} USDT</td>
                      <td className="num">{formatDecimal(row.fees, 4)} USDT</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section className="panel">
          <header className="panel-head"><h2>{t('perf.daily')}</h2></header>
          {days.length === 0 ? <Empty>{t('perf.noClosed')}</Empty> : (
            <div className="table-wrap">
              <table data-testid="perf-daily">
                <thead><tr><th>{t('perf.day')}</th><th className="num">{t('perf.trades')}</th><th className="num">{t('perf.pnl')}</th></tr></thead>
                <tbody>
                  {days.map((d) => (
                    <tr key={d.day}><td>{d.day}</td><td className="num">{d.trades}</td><td className={`num ${tone(d.pnl)}`}>{formatUsd(d.pnl, { signed: true })} USDT</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
      <section className="panel">
        <header className="panel-head"><h2>{t('perf.closed')}</h2></header>
        <DataState data={closed.data} error={closed.error} loading={closed.loading} reload={closed.reload} isEmpty={() => closedIn.length === 0} empty={t('perf.noClosed')}>
          {() => (
            <>
              <div className="table-wrap">
                <table className="stack" data-testid="closed-positions">
                  <thead>
                    <tr>
                      <th>{t('perf.closedAt')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th className="num">{t('col.size')}</th><th className="num">{t('col.entry')}</th>
                      <th className="num">{t('col.lever')}</th><th className="num">{t('perf.pnl')}</th><th>{t('perf.closeReason')}</th><th>{t('perf.closedBy')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {closedRows.rows.map((p) => (
                      <tr key={p.id} data-testid="closed-row">
                        <td data-label={t('perf.closedAt')}>{formatDateTime(p.closedAt)}</td>
                        <td data-label={t('col.instrument')}>{p.instId}</td>
                        <td data-label={t('col.side')}>{p.posSide === 'net' ? (p.pos.startsWith('-') ? 'short' : 'long') : p.posSide}</td>
                        <td data-label={t('col.size')} className="num">{t(contractsKey(p.pos.replace(/^-/, '')), { n: formatDecimal(p.pos.replace(/^-/, '')) })}</td>
                        <td data-label={t('col.entry')} className="num">{formatPrice(p.avgPx, instruments[p.instId]?.tickSz)}</td>
                        <td data-label={t('col.lever')} className="num">{p.lever ? `${p.lever}×` : '—'}</td>
                        <td data-label={t('perf.pnl')} className={`num ${tone(p.realizedPnl)}`}>{formatUsd(p.realizedPnl, { signed: true })} USDT</td>
                        <td data-label={t('perf.closeReason')}>{p.closeReason ? t(`close.${p.closeReason}` as MessageKey) : '—'}</td>
                        <td data-label={t('perf.closedBy')}>{p.closeOrigin ? <OriginLabel origin={p.closeOrigin} /> : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={closedRows.page} pages={closedRows.pages} onPage={setClosedPage} testId="closed-pager" />
            </>
          )}
        </DataState>
      </section>
      <div className="grid grid-two">
        <section className="panel">
          <header className="panel-head"><h2>{t('perf.orders')}</h2></header>
          <DataState data={orders.data} error={orders.error} loading={orders.loading} reload={orders.reload} isEmpty={() => ordersIn.length === 0} empty={t('orders.none')}>
            {() => (
              <>
                <div className="table-wrap">
                  <table className="stack" data-testid="order-history">
                    <thead><tr><th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th className="num">{t('col.size')}</th><th className="num">{t('col.fillPrice')}</th><th>{t('col.state')}</th><th>{t('col.origin')}</th></tr></thead>
                    <tbody>
                      {orderRows.rows.map((o) => (
                        <tr key={o.id}>
                          <td data-label={t('col.time')}>{formatDateTime(o.okxCreatedAt ?? o.createdAt)}</td>
                          <td data-label={t('col.instrument')}>{o.instId}</td>
                          <td data-label={t('col.side')} className={o.side === 'buy' ? 'up' : 'down'}>{o.side}</td>
                          <td data-label={t('col.size')} className="num">{formatDecimal(o.sz)}</td>
                          <td data-label={t('col.fillPrice')} className="num">{formatPrice(o.avgPx, instruments[o.instId]?.tickSz)}</td>
                          <td data-label={t('col.state')}>{o.state}</td>
                          <td data-label={t('col.origin')}><OriginLabel origin={o.origin} /></td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager page={orderRows.page} pages={orderRows.pages} onPage={setOrdersPage} testId="orders-pager" />
              </>
            )}
          </DataState>
        </section>
        <section className="panel">
          <header className="panel-head"><h2>{t('perf.fillsTitle')}</h2></header>
          <DataState data={fills.data} error={fills.error} loading={fills.loading} reload={fills.reload} isEmpty={() => fillsIn.length === 0} empty={t('fills.none')}>
            {() => (
              <>
                <div className="table-wrap">
                  <table className="stack" data-testid="fill-history">
                    <thead><tr><th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th className="num">{t('col.price')}</th><th className="num">{t('col.size')}</th><th className="num">{t('perf.pnl')}</th><th className="num">{t('col.fee')}</th></tr></thead>
                    <tbody>
                      {fillRows.rows.map((f) => (
                        <tr key={`${f.instId}-${f.tradeId}`}>
                          <td data-label={t('col.time')}>{formatDateTime(f.filledAt)}</td>
                          <td data-label={t('col.instrument')}>{f.instId}</td>
                          <td data-label={t('col.side')} className={f.side === 'buy' ? 'up' : 'down'}>{f.side}</td>
                          <td data-label={t('col.price')} className="num">{formatPrice(f.fillPx, instruments[f.instId]?.tickSz)}</td>
                          <td data-label={t('col.size')} className="num">{formatDecimal(f.fillSz)}</td>
                          <td data-label={t('perf.pnl')} className={`num ${tone(f.fillPnl)}`}>{formatUsd(f.fillPnl, { signed: true })}</td>
                          <td data-label={t('col.fee')} className="num">{formatDecimal(f.fee)} {f.feeCcy}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager page={fillRows.page} pages={fillRows.pages} onPage={setFillsPage} testId="fills-pager" />
              </>
            )}
          </DataState>
        </section>
      </div>
    </div>
  );
}
