import { useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import type { RunView } from '../api/extensions.ts';
import type { SchedulerInstrument, SchedulerStatus } from '../api/types.ts';
import { ApprovalsTable, usePendingApprovals } from '../components/Approvals.tsx';
import { DecisionTag } from '../components/Decision.tsx';
import { RunDetail } from '../components/RunDetail.tsx';
import { DataState, ErrorBox } from '../components/State.tsx';
import { Tag } from '../components/Tag.tsx';
import { useAction } from '../hooks/useAction.ts';
import { useApiData } from '../hooks/useApiData.ts';
import { tickSizeMap, useInstruments } from '../hooks/useInstruments.ts';
import { useNow } from '../hooks/useNow.ts';
import { useLastPrice, useStreamEvent } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';
import type { MessageKey } from '../lib/i18n-messages.ts';
import { formatBps, formatCountdown, formatDateTime, formatDecimal, formatDuration, formatPrice, parseTime } from '../lib/format.ts';
import { type RunFilter, EMPTY_RUN_FILTER, filterRuns, pageOf } from '../lib/run-filter.ts';
import { runsReducer } from '../lib/runs.ts';
import { crossesThreshold, deviationBps, runDeviationBps, runDurationMs, thresholdFill } from '../lib/strategy.ts';

const PAGE_SIZE = 25;

export function Strategy() {
  const { t } = useI18n();
  const now = useNow(1000);
  const { byId: instruments } = useInstruments();
  const tickSizes = tickSizeMap(instruments);
  const status = useApiData<SchedulerStatus>((signal) => unwrap(api.GET('/api/scheduler/status', { signal })), 'scheduler-status', 30_000);
  const runs = useApiData<RunView[]>((signal) => unwrap(api.GET('/api/model/strategy-runs', { params: { query: { limit: 200 } }, signal })), 'runs-all');
  const approvals = usePendingApprovals();
  const [filter, setFilter] = useState<RunFilter>(EMPTY_RUN_FILTER);
  const [page, setPage] = useState(0);
  const risk = useApiData((signal) => unwrap(api.GET('/api/trade/risk', { signal })), 'risk', 60_000);
  const approvalMode = risk.data?.limits.approvalMode ?? null;
  const [detailId, setDetailId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();

  useStreamEvent('scheduler', (payload) => status.setData(() => payload as SchedulerStatus));
  useStreamEvent('trigger', () => status.reload());
  useStreamEvent('run', (payload) => {
    runs.setData((previous) => runsReducer(previous ?? [], { type: 'upsert', run: payload as RunView }));
  });

  const runNow = (instId?: string) =>
    action.run(async () => {
      await unwrap(api.POST('/api/model/strategy-run', { body: instId ? { instId } : {} }));
      setNotice(t('strategy.started')); // the run ids are for machines: the run appears in the history
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
      {(approvalMode === 'manual' || (approvals.data?.length ?? 0) > 0 || approvals.error) && (
        <section className="panel" data-testid="approvals">
          <header className="panel-head"><h2>{t('strategy.approvals')}</h2></header>
          <DataState data={approvals.data} error={approvals.error} loading={approvals.loading} reload={approvals.reload}>
            {(list) => <ApprovalsTable approvals={list} onDecided={approvals.reload} />}
          </DataState>
        </section>
      )}
      <section className="panel">
        <header className="panel-head"><h2>{t('strategy.history')}</h2></header>
        <DataState data={runs.data} error={runs.error} loading={runs.loading} reload={runs.reload} isEmpty={(d) => d.length === 0} empty={t('strategy.noRuns')}>
          {(data) => {
            const shown = filterRuns(data, filter);
            const { rows, pages } = pageOf(shown, page, PAGE_SIZE);
            return (
              <>
                <RunFilters runs={data} filter={filter} onChange={(next) => { setFilter(next); setPage(0); }} />
                <div className="table-wrap">
                  <table data-testid="runs-table" className="clickable stack">
                    <thead>
                      <tr>
                        <th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.source')}</th><th>{t('col.decision')}</th><th className="num">{t('col.triggerPrice')}</th>
                        <th className="num">{t('col.baseline')}</th><th className="num">{t('col.deviation')}</th><th>{t('col.status')}</th>
                        <th className="num">{t('col.duration')}</th><th className="num">{t('col.cost')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((run) => (
                        <tr key={run.id} onClick={() => setDetailId(run.id)} data-testid="run-row" tabIndex={0} onKeyDown={(e) => e.key === 'Enter' && setDetailId(run.id)}>
                          <td data-label={t('col.time')}>{formatDateTime(run.triggeredAt)}</td>
                          <td data-label={t('col.instrument')}>{run.instId}</td>
                          <td data-label={t('col.source')}><Tag kind="source" value={run.source} /></td>
                          <td data-label={t('col.decision')}><DecisionTag run={run} /></td>
                          <td data-label={t('col.triggerPrice')} className="num">{formatPrice(run.triggerPrice, tickSizes[run.instId])}</td>
                          <td data-label={t('col.baseline')} className="num">{formatPrice(run.baselinePrice, tickSizes[run.instId])}</td>
                          <td data-label={t('col.deviation')} className="num" data-testid="run-deviation">{formatBps(runDeviationBps(run))}</td>
                          <td data-label={t('col.status')}><Tag kind="status" value={run.status} /></td>
                          <td data-label={t('col.duration')} className="num">{formatDuration(runDurationMs(run.triggeredAt, run.finishedAt, now))}</td>
                          <td data-label={t('col.cost')} className="num">{run.costUsd ? `$${formatDecimal(run.costUsd, 4)}` : '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                {pages > 1 && (
                  <div className="pager" data-testid="runs-pager">
                    <button type="button" className="btn btn-small" disabled={page === 0} onClick={() => setPage(page - 1)}>‹</button>
                    <span className="muted small">{t('common.page', { page: Math.min(page, pages - 1) + 1, pages })}</span>
                    <button type="button" className="btn btn-small" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>›</button>
                  </div>
                )}
              </>
            );
          }}
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
          <button type="button" className="btn btn-primary" disabled={action.busy} onClick={() => void action.run(async () => onChanged(await unwrap(api.POST('/api/scheduler/resume'))))}>
            {t('strategy.resume')}
          </button>
        ) : (
          <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void action.run(async () => { onChanged(await unwrap(api.POST('/api/scheduler/pause', { body: reason ? { reason } : {} }))); setReason(''); }); }}>
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
  const live = useLastPrice(inst.instId) ?? inst.price ?? null;
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

function RunFilters({ runs, filter, onChange }: { runs: RunView[]; filter: RunFilter; onChange: (f: RunFilter) => void }) {
  const { t } = useI18n();
  const options = (values: (string | null | undefined)[]) => [...new Set(values.filter((v): v is string => Boolean(v)))].sort();
  const field = (key: keyof RunFilter, label: string, values: string[], labelOf: (v: string) => string = (v) => v) => (
    <label>
      {label}
      <select name={`filter-${key}`} value={filter[key]} onChange={(e) => onChange({ ...filter, [key]: e.target.value })}>
        <option value="">{t('common.all')}</option>
        {values.map((v) => <option key={v} value={v}>{labelOf(v)}</option>)}
      </select>
    </label>
  );
  return (
    <div className="row filters" data-testid="run-filters">
      {field('instId', t('col.instrument'), options(runs.map((r) => r.instId)))}
      {field('source', t('col.source'), options(runs.map((r) => r.source)), (v) => t(`source.${v}` as MessageKey))}
      {field('status', t('col.status'), options(runs.map((r) => r.status)))}
      {field('decision', t('col.decision'), options(runs.map((r) => r.decision?.action)), (v) => t(`decision.${v}` as MessageKey))}
    </div>
  );
}
