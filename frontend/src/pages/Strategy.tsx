import { useState } from 'react';
import { api } from '../api/client.ts';
import type { Approval, SchedulerInstrument, SchedulerStatus, StrategyRun } from '../api/types.ts';
import { RunDetail } from '../components/RunDetail.tsx';
import { DataState, ErrorBox } from '../components/State.tsx';
import { Tag } from '../components/Tag.tsx';
import { useAction } from '../hooks/useAction.ts';
import { useApiData } from '../hooks/useApiData.ts';
import { tickSizeMap, useInstruments } from '../hooks/useInstruments.ts';
import { useNow } from '../hooks/useNow.ts';
import { useStream, useStreamEvent } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';
import { formatBps, formatCountdown, formatDateTime, formatDecimal, formatDuration, formatPrice, formatUsd, parseTime } from '../lib/format.ts';
import { runsReducer } from '../lib/runs.ts';
import { crossesThreshold, deviationBps, runDurationMs, thresholdFill } from '../lib/strategy.ts';

export function Strategy() {
  const { t } = useI18n();
  const now = useNow(1000);
  const { byId: instruments } = useInstruments();
  const tickSizes = tickSizeMap(instruments);
  const status = useApiData<SchedulerStatus>((signal) => api.get('/api/scheduler/status', { signal }), 'scheduler-status', 30_000);
  const runs = useApiData<StrategyRun[]>((signal) => api.get('/api/model/strategy-runs', { query: { limit: 100 }, signal }), 'runs-all');
  const approvals = useApiData<Approval[]>(async (signal) => (await api.get('/api/trade/approvals', { signal })).approvals, 'approvals', 15_000);
  const risk = useApiData((signal) => api.get('/api/trade/risk', { signal }), 'risk', 60_000);
  const approvalMode = risk.data?.limits.approvalMode ?? null;
  const [detailId, setDetailId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();

  useStreamEvent('scheduler', (payload) => status.setData(() => payload as SchedulerStatus));
  useStreamEvent('trigger', () => status.reload());
  useStreamEvent('run', (payload) => {
    runs.setData((previous) => runsReducer(previous ?? [], { type: 'upsert', run: payload as StrategyRun }));
    status.reload();
    approvals.reload();
  });

  const runNow = (instId?: string) =>
    action.run(async () => {
      const accepted = await api.post('/api/model/strategy-run', { body: instId ? { instId } : {} });
      setNotice(`${t('strategy.started')} ${accepted.runIds.join(', ')}`);
      runs.reload();
      status.reload();
    });

  const detail = runs.data?.find((r) => r.id === detailId) ?? null;

  return (
    <div className="page strategy">
      <h1 className="page-title">{t('strategy.title')}</h1>
      {action.error && <ErrorBox error={action.error} />}
      {notice && <div className="notice" role="status" onClick={() => setNotice(null)}>{notice}</div>}
      <DataState data={status.data} error={status.error} loading={status.loading} reload={status.reload}>
        {(s) => (
          <>
            <AutomationBar status={s} approvalMode={approvalMode} onRunAll={() => void runNow()} busy={action.busy} onChanged={(next) => status.setData(() => next)} />
            <div className="grid grid-cards">
              {s.instruments.map((inst) => (
                <InstrumentCard key={inst.instId} inst={inst} status={s} now={now} tickSz={tickSizes[inst.instId]} busy={action.busy} onRun={() => void runNow(inst.instId)} />
              ))}
            </div>
          </>
        )}
      </DataState>
      <Approvals approvals={approvals} mode={approvalMode} />
      <section className="panel">
        <header className="panel-head"><h2>{t('strategy.history')}</h2></header>
        <DataState data={runs.data} error={runs.error} loading={runs.loading} reload={runs.reload} isEmpty={(d) => d.length === 0} empty={t('strategy.noRuns')}>
          {(data) => (
            <div className="table-wrap">
              <table data-testid="runs-table" className="clickable">
                <thead>
                  <tr>
                    <th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.source')}</th><th className="num">{t('col.triggerPrice')}</th>
                    <th className="num">{t('col.baseline')}</th><th className="num">{t('col.deviation')}</th><th>{t('col.status')}</th>
                    <th className="num">{t('col.duration')}</th><th className="num">{t('col.cost')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((run) => (
                    <tr key={run.id} onClick={() => setDetailId(run.id)} data-testid="run-row" tabIndex={0} onKeyDown={(e) => e.key === 'Enter' && setDetailId(run.id)}>
                      <td>{formatDateTime(run.triggeredAt)}</td>
                      <td>{run.instId}</td>
                      <td><Tag kind="source" value={run.source} /></td>
                      <td className="num">{formatPrice(run.triggerPrice, tickSizes[run.instId])}</td>
                      <td className="num">{formatPrice(run.baselinePrice, tickSizes[run.instId])}</td>
                      <td className="num">{formatBps(run.deviationBps)}</td>
                      <td><Tag kind="status" value={run.status} /></td>
                      <td className="num">{formatDuration(runDurationMs(run.triggeredAt, run.finishedAt, now))}</td>
                      <td className="num">{run.costUsd ? `$${formatDecimal(run.costUsd, 4)}` : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </DataState>
      </section>
      {detail && <RunDetail run={detail} tickSz={tickSizes[detail.instId]} onClose={() => setDetailId(null)} />}
    </div>
  );
}

function AutomationBar({ status, approvalMode, onRunAll, busy, onChanged }: { status: SchedulerStatus; approvalMode: string | null; onRunAll: () => void; busy: boolean; onChanged: (s: SchedulerStatus) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const action = useAction();
  const pausedText = status.pausedBy === 'system' ? t('strategy.pausedBySystem') : t('strategy.paused');
  return (
    <section className={`panel automation ${status.paused ? 'paused' : 'active'}`} data-testid="automation">
      <div className="automation-state">
        <strong data-testid="automation-state">{status.paused ? pausedText : t('strategy.active')}</strong>
        {status.paused && status.pausedReason && <span className="muted"> — {status.pausedReason}</span>}
        <div className="muted small">
          {status.scheduleEnabled ? t('strategy.schedule', { secs: status.intervalSecs }) : t('strategy.scheduleOff')} ·{' '}
          {status.volTriggerEnabled ? t('strategy.volOn', { bps: status.thresholdBps }) : t('strategy.volOff')}
          {approvalMode && <> · {t('strategy.approvalMode', { mode: approvalMode })}</>}
          {status.analysisRunning && <> · <span className="pulse">{t('strategy.running')}</span></>}
        </div>
      </div>
      <div className="automation-actions">
        {status.paused ? (
          <button type="button" className="btn btn-primary" disabled={action.busy} onClick={() => void action.run(async () => onChanged(await api.post('/api/scheduler/resume')))}>
            {t('strategy.resume')}
          </button>
        ) : (
          <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void action.run(async () => { onChanged(await api.post('/api/scheduler/pause', { body: reason ? { reason } : {} })); setReason(''); }); }}>
            <input placeholder={t('strategy.pauseReason')} aria-label={t('strategy.pauseReason')} value={reason} onChange={(e) => setReason(e.target.value)} />
            <button type="submit" className="btn btn-danger" disabled={action.busy}>{t('strategy.pause')}</button>
          </form>
        )}
        <button type="button" className="btn" disabled={busy} onClick={onRunAll}>{t('strategy.runAll')}</button>
      </div>
      {action.error && <ErrorBox error={action.error} />}
    </section>
  );
}

function InstrumentCard({ inst, status, now, tickSz, busy, onRun }: { inst: SchedulerInstrument; status: SchedulerStatus; now: number; tickSz?: string; busy: boolean; onRun: () => void }) {
  const { t } = useI18n();
  const { tickers } = useStream();
  const live = tickers.byInstId[inst.instId]?.ticker.last ?? inst.price ?? null;
  const deviation = deviationBps(live, inst.lastTriggerPrice) ?? inst.deviationBps ?? null;
  const fill = thresholdFill(deviation, status.thresholdBps);
  const crossing = crossesThreshold(deviation, status.thresholdBps);
  return (
    <section className="panel inst-card" data-testid={`inst-${inst.instId}`}>
      <header className="panel-head">
        <h2>{inst.instId}</h2>
        {inst.running && <span className="tag tag-status-running">{t('strategy.running')}</span>}
        {inst.queued && <span className="tag">{t('strategy.queued')}</span>}
      </header>
      <dl className="facts">
        <dt>{t('strategy.baseline')}</dt><dd>{formatPrice(inst.lastTriggerPrice, tickSz)}</dd>
        <dt>{t('strategy.price')}</dt><dd>{formatPrice(live, tickSz)}</dd>
        <dt>{t('strategy.deviation')}</dt><dd className={crossing ? 'warn' : ''} data-testid="deviation">{formatBps(deviation)}</dd>
      </dl>
      <div className="threshold" title={t('strategy.threshold', { bps: status.thresholdBps })}>
        <div className={`threshold-fill ${crossing ? 'crossing' : ''}`} style={{ width: `${(fill * 100).toFixed(1)}%` }} />
        <span className="threshold-label">{t('strategy.threshold', { bps: status.thresholdBps })}</span>
      </div>
      <dl className="facts">
        <dt>{t('strategy.nextRun')}</dt><dd data-testid="countdown">{status.scheduleEnabled ? formatCountdown(parseTime(inst.nextScheduledAt), now) : '—'}</dd>
        <dt>{t('strategy.lastSource')}</dt><dd><Tag kind="source" value={inst.lastSource} /> <span className="muted small">{formatDateTime(inst.lastTriggerAt)}</span></dd>
        <dt>{t('strategy.lastResult')}</dt><dd><Tag kind="status" value={inst.lastStatus ?? null} /></dd>
      </dl>
      <button type="button" className="btn btn-primary" disabled={busy} onClick={onRun} data-testid="run-now">
        {t('strategy.runNow')}
      </button>
    </section>
  );
}

function Approvals({ approvals, mode }: { approvals: ReturnType<typeof useApiData<Approval[]>>; mode: string | null }) {
  const { t } = useI18n();
  const action = useAction();
  const pending = (approvals.data ?? []).filter((a) => a.status === 'pending');
  if (mode !== 'manual' && pending.length === 0 && !approvals.error) return null;
  const decide = (approval: Approval, verdict: 'approve' | 'reject') =>
    action.run(async () => {
      if (verdict === 'approve') await api.post('/api/trade/approvals/{approval_id}/approve', { path: { approval_id: approval.id } });
      else await api.post('/api/trade/approvals/{approval_id}/reject', { path: { approval_id: approval.id } });
      approvals.reload();
    });
  return (
    <section className="panel" data-testid="approvals">
      <header className="panel-head"><h2>{t('strategy.approvals')}</h2></header>
      {action.error && <ErrorBox error={action.error} />}
      <DataState data={approvals.data} error={approvals.error} loading={approvals.loading} reload={approvals.reload} isEmpty={() => pending.length === 0} empty={t('strategy.noApprovals')}>
        {() => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr><th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th>{t('col.type')}</th><th className="num">{t('col.size')}</th><th>{t('col.tpsl')}</th><th /></tr>
              </thead>
              <tbody>
                {pending.map((a) => {
                  const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '—');
                  const order = a.request;
                  return (
                    <tr key={a.id}>
                      <td>{formatDateTime(a.createdAt)}</td>
                      <td>{a.instId}</td>
                      <td className={order.side === 'buy' ? 'up' : 'down'}>{a.kind === 'close' ? t('strategy.closeKind') : text(order.side)}</td>
                      <td>{text(order.ordType)}</td>
                      <td className="num">{order.sz !== undefined ? formatDecimal(text(order.sz)) : order.notionalUsdt !== undefined ? `${formatUsd(text(order.notionalUsdt))} USDT` : '—'}</td>
                      <td>{text(order.tpTriggerPx)} / {text(order.slTriggerPx)}</td>
                      <td className="actions">
                        <button type="button" className="btn btn-small btn-primary" disabled={action.busy} onClick={() => void decide(a, 'approve')}>{t('strategy.approve')}</button>
                        <button type="button" className="btn btn-small btn-danger" disabled={action.busy} onClick={() => void decide(a, 'reject')}>{t('strategy.reject')}</button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </DataState>
    </section>
  );
}
