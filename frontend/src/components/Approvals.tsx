// Pending approvals: a badge in the top bar on every page, and the table (on the badge's panel and the
// strategy page) with what a trader needs to decide: price, notional, leverage, TP/SL, origin, reason.
import { useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import type { ApprovalView } from '../api/extensions.ts';
import { useAction } from '../hooks/useAction.ts';
import { useApiData } from '../hooks/useApiData.ts';
import { useInstruments } from '../hooks/useInstruments.ts';
import { useLastPrice } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';
import { contractsToUsdt } from '../lib/contracts.ts';
import { contractsKey, formatDateTime, formatDecimal, formatPrice, formatUsd } from '../lib/format.ts';
import { OriginLabel } from './OriginLabel.tsx';
import { Empty, ErrorBox } from './State.tsx';

export const APPROVALS_KEY = 'approvals';

/** The pending approvals, shared by the badge and the strategy page (refreshed by `approval` events). */
export function usePendingApprovals() {
  return useApiData<ApprovalView[]>(async (signal) => (await unwrap(api.GET('/api/trade/approvals', { signal }))).approvals.filter((a) => a.status === 'pending'), APPROVALS_KEY, 15_000);
}

const text = (value: unknown): string | null => (typeof value === 'string' || typeof value === 'number' ? String(value) : null);

function ApprovalRow({ approval, busy, onDecide }: { approval: ApprovalView; busy: boolean; onDecide: (verdict: 'approve' | 'reject') => void }) {
  const { t } = useI18n();
  const { byId } = useInstruments();
  const spec = byId[approval.instId];
  const last = useLastPrice(approval.instId);
  const order = approval.request;
  const px = text(order.px);
  const sz = text(order.sz);
  const notional = text(order.notionalUsdt) ?? (sz && spec ? (contractsToUsdt(sz, px ?? last ?? '', spec) as { notionalUsdt?: string }).notionalUsdt ?? null : null);
  const reason = text(order.reason) ?? approval.detail ?? null;
  const side = approval.kind === 'close' ? t('strategy.closeKind') : text(order.side) ?? '—';
  return (
    <tr data-testid="approval-row">
      <td data-label={t('col.time')}>{formatDateTime(approval.createdAt)}</td>
      <td data-label={t('col.instrument')}>{approval.instId}</td>
      <td data-label={t('col.side')} className={order.side === 'buy' ? 'up' : order.side === 'sell' ? 'down' : ''}>{side}</td>
      <td data-label={t('col.price')} className="num">{px ? formatPrice(px, spec?.tickSz) : `${t('trade.market')} ≈ ${formatPrice(last, spec?.tickSz)}`}</td>
      <td data-label={t('col.size')} className="num">{sz ? t(contractsKey(sz), { n: formatDecimal(sz) }) : '—'}</td>
      <td data-label={t('col.notional')} className="num">{notional ? `${formatUsd(notional)} USDT` : '—'}</td>
      <td data-label={t('col.lever')} className="num">{text(order.leverage) ? `${text(order.leverage)}×` : '—'}</td>
      <td data-label={t('col.tpsl')}>{formatPrice(text(order.tpTriggerPx), spec?.tickSz)} / {formatPrice(text(order.slTriggerPx), spec?.tickSz)}</td>
      <td data-label={t('col.origin')}><OriginLabel origin={approval.origin ?? (approval.runId ? `agent:run:${approval.runId}` : null)} /></td>
      <td data-label={t('col.reason')} className="wrap">{reason ?? '—'}</td>
      <td className="actions sticky-action">
        <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={() => onDecide('approve')}>{t('strategy.approve')}</button>
        <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => onDecide('reject')}>{t('strategy.reject')}</button>
      </td>
    </tr>
  );
}

export function ApprovalsTable({ approvals, onDecided }: { approvals: ApprovalView[]; onDecided: () => void }) {
  const { t } = useI18n();
  const action = useAction();
  if (approvals.length === 0) return <Empty>{t('strategy.noApprovals')}</Empty>;
  const decide = (approval: ApprovalView, verdict: 'approve' | 'reject') =>
    action.run(async () => {
      if (verdict === 'approve') await unwrap(api.POST('/api/trade/approvals/{approval_id}/approve', { params: { path: { approval_id: approval.id } } }));
      else await unwrap(api.POST('/api/trade/approvals/{approval_id}/reject', { params: { path: { approval_id: approval.id } } }));
      onDecided();
    });
  return (
    <>
      {action.error && <ErrorBox error={action.error} />}
      <div className="table-wrap">
        <table className="stack" data-testid="approvals-table">
          <thead>
            <tr>
              <th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th className="num">{t('col.price')}</th><th className="num">{t('col.size')}</th>
              <th className="num">{t('col.notional')}</th><th className="num">{t('col.lever')}</th><th>{t('col.tpsl')}</th><th>{t('col.origin')}</th><th>{t('col.reason')}</th><th className="sticky-action" />
            </tr>
          </thead>
          <tbody>
            {approvals.map((a) => <ApprovalRow key={a.id} approval={a} busy={action.busy} onDecide={(verdict) => void decide(a, verdict)} />)}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Top-bar badge: how many orders wait for approval; opens the list from any page. */
export function ApprovalsBadge() {
  const { t } = useI18n();
  const approvals = usePendingApprovals();
  const [open, setOpen] = useState(false);
  const count = approvals.data?.length ?? 0;
  if (count === 0 && !open) return null;
  return (
    <>
      <button type="button" className="btn btn-small badge-approvals" data-testid="approvals-badge" onClick={() => setOpen((v) => !v)} aria-expanded={open}>
        {t('approvals.badge', { n: count })}
      </button>
      {open && (
        <div className="modal-backdrop" onClick={() => setOpen(false)}>
          <div className="modal" role="dialog" aria-modal="true" aria-label={t('strategy.approvals')} onClick={(e) => e.stopPropagation()} data-testid="approvals-panel">
            <header className="panel-head">
              <h2>{t('strategy.approvals')}</h2>
              <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>{t('run.close')}</button>
            </header>
            <ApprovalsTable approvals={approvals.data ?? []} onDecided={approvals.reload} />
          </div>
        </div>
      )}
    </>
  );
}
