// The risk guard in view: every limit, today's loss against the daily limit, exposure against the cap,
// the latch and its reset, and the most recent refusals.
import { api, unwrap } from '../api/client.ts';
import type { RiskRefusalRecord, RiskStatus } from '../api/types.ts';
import { useAction } from '../hooks/useAction.ts';
import { useApiData } from '../hooks/useApiData.ts';
import { useI18n } from '../i18n.tsx';
import { div, mul, parseDecimal, toFixed, toNumber } from '../lib/decimal.ts';
import { formatDateTime, formatUsd } from '../lib/format.ts';
import { OriginLabel } from './OriginLabel.tsx';
import { DataState, ErrorBox } from './State.tsx';

export const RISK_KEY = 'risk';

export function useRisk() {
  return useApiData<RiskStatus>((signal) => unwrap(api.GET('/api/trade/risk', { signal })), RISK_KEY, 30_000);
}

/** used ÷ limit as 0..1 for the bars; null when either is unknown or the limit is 0. */
export function usage(used: string | null | undefined, limit: string | null | undefined): number | null {
  const u = parseDecimal(used);
  const l = parseDecimal(limit);
  if (!u || !l || l.coef === 0n) return null;
  const ratio = div(u, l, 4);
  return ratio ? Math.max(0, Math.min(1, toNumber(ratio))) : null;
}

function Meter({ label, used, limit, testId }: { label: string; used: string | null; limit: string | null; testId: string }) {
  const share = usage(used, limit);
  return (
    <div className="meter" data-testid={testId}>
      <div className="meter-label"><span>{label}</span><span>{formatUsd(used)} / {formatUsd(limit)} USDT</span></div>
      <div className="threshold"><div className={`threshold-fill ${share !== null && share >= 0.8 ? 'crossing' : ''}`} style={{ width: `${((share ?? 0) * 100).toFixed(1)}%` }} /></div>
    </div>
  );
}

export function RiskPanel() {
  const { t } = useI18n();
  const risk = useRisk();
  const refusals = useApiData<RiskRefusalRecord[]>(async (signal) => (await unwrap(api.GET('/api/trade/risk/refusals', { params: { query: { limit: '5' } }, signal }))).refusals, 'risk-refusals', 30_000);
  const reset = useAction();
  return (
    <section className="panel risk-panel" data-testid="risk-panel">
      <header className="panel-head"><h2>{t('risk.title')}</h2></header>
      <DataState data={risk.data} error={risk.error} loading={risk.loading} reload={risk.reload}>
        {({ limits, state }) => {
          const equity = parseDecimal(state.equity);
          const capPct = parseDecimal(limits.maxExposurePct);
          const cap = equity && capPct ? div(mul(equity, capPct), { coef: 100n, scale: 0 }, 2) : null;
          return (
            <>
              {state.dailyLossLatched && (
                <div className="state state-error" role="alert" data-testid="risk-latched">
                  {t('risk.latched', { at: formatDateTime(state.latchedAt), reopens: formatDateTime(state.reopensAt) })}
                </div>
              )}
              <Meter label={t('risk.dayLoss', { pct: limits.dailyLossLimitPct })} used={state.dayLoss} limit={state.maxDayLoss} testId="risk-day-loss" />
              <Meter label={t('risk.exposure', { pct: limits.maxExposurePct })} used={state.openExposure} limit={cap ? toFixed(cap, 2) : null} testId="risk-exposure" />
              <dl className="facts" data-testid="risk-limits">
                <dt>{t('risk.maxOrder')}</dt><dd>{limits.maxOrderPct}%</dd>
                <dt>{t('risk.maxLeverage')}</dt><dd data-testid="risk-max-leverage">{limits.maxLeverage}×</dd>
                <dt>{t('risk.stopLoss')}</dt><dd>{limits.requireStopLoss ? t('common.yes') : t('common.no')}</dd>
                <dt>{t('risk.approvalMode')}</dt><dd>{limits.approvalMode}</dd>
                <dt>{t('risk.instruments')}</dt><dd>{limits.allowedInstIds.length ? limits.allowedInstIds.join(', ') : t('common.all')}</dd>
                <dt>{t('risk.dayStart')}</dt><dd>{formatUsd(state.dayStartEquity)} USDT · {state.day}</dd>
              </dl>
              {reset.error && <ErrorBox error={reset.error} />}
              <button
                type="button"
                className="btn btn-small"
                data-testid="risk-reset"
                disabled={reset.busy}
                onClick={() => {
                  if (window.confirm(t('risk.resetConfirm'))) void reset.run(async () => {
                    const next = await unwrap(api.POST('/api/trade/risk/reset'));
                    risk.setData(() => next);
                  });
                }}
              >
                {t('risk.reset')}
              </button>
              <h3>{t('risk.refusals')}</h3>
              {(refusals.data ?? []).length === 0 ? <p className="muted small">{t('risk.noRefusals')}</p> : (
                <ul className="refusal-list" data-testid="risk-refusals">
                  {refusals.data!.map((r) => (
                    <li key={r.id}>
                      <span className="muted small">{formatDateTime(r.at)}</span> {r.instId} <code>{r.rule}</code> <OriginLabel origin={r.origin} />
                      <div className="small">{r.message}</div>
                    </li>
                  ))}
                </ul>
              )}
            </>
          );
        }}
      </DataState>
    </section>
  );
}
