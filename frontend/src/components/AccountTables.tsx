import { useState } from 'react';
import type { Fill, Instrument, Order, Position } from '../api/types.ts';
import { offTick } from '../lib/order-form.ts';
import { useAction } from '../hooks/useAction.ts';
import { useI18n } from '../i18n.tsx';
import { formatDateTime, formatDecimal, formatPrice, formatUsd } from '../lib/format.ts';
import { OriginLabel } from './OriginLabel.tsx';
import { Empty, ErrorBox } from './State.tsx';

function sideOf(position: Position): string {
  if (position.posSide === 'long' || position.posSide === 'short') return position.posSide;
  return position.pos.trim().startsWith('-') ? 'short' : 'long';
}

export function PositionsTable({ positions, instruments, onClose, onSetTpsl }: {
  positions: Position[];
  instruments: Record<string, Instrument>;
  onClose: (p: Position) => Promise<unknown>;
  onSetTpsl?: (p: Position, tpTriggerPx: string | null, slTriggerPx: string | null) => Promise<unknown>;
}) {
  const { t } = useI18n();
  const action = useAction();
  const [editing, setEditing] = useState<Position | null>(null);
  if (positions.length === 0) return <Empty>{t('positions.none')}</Empty>;
  return (
    <>
      {action.error && <ErrorBox error={action.error} />}
      <div className="table-wrap">
        <table className="stack" data-testid="positions-table">
          <thead>
            <tr>
              <th>{t('col.instrument')}</th><th>{t('col.side')}</th><th className="num">{t('col.size')}</th><th className="num">{t('col.entry')}</th>
              <th className="num">{t('col.mark')}</th><th className="num">{t('col.upl')}</th><th>{t('col.tpsl')}</th><th className="num">{t('col.lever')}</th><th className="sticky-action" />
            </tr>
          </thead>
          <tbody>
            {positions.map((p) => {
              const tick = instruments[p.instId]?.tickSz;
              const side = sideOf(p);
              const upl = p.upl ?? null;
              return (
                <tr key={`${p.instId}-${p.posSide}`}>
                  <td data-label={t('col.instrument')}>{p.instId}</td>
                  <td data-label={t('col.side')} className={side === 'long' ? 'up' : 'down'}>{side}</td>
                  <td data-label={t('col.size')} className="num" data-testid="position-size">{formatDecimal(p.pos)}</td>
                  <td data-label={t('col.entry')} className="num">{formatPrice(p.avgPx, tick)}</td>
                  <td data-label={t('col.mark')} className="num">{formatPrice(p.markPx, tick)}</td>
                  <td data-label={t('col.upl')} className={`num ${upl?.startsWith('-') ? 'down' : 'up'}`}>{formatUsd(upl, { signed: true })} USDT</td>
                  <td data-label={t('col.tpsl')}>{formatPrice(p.tpTriggerPx, tick)} / {formatPrice(p.slTriggerPx, tick)}</td>
                  <td data-label={t('col.lever')} className="num">{p.lever ? `${p.lever}×` : '—'}</td>
                  <td className="sticky-action actions">
                    {onSetTpsl && (
                      <button type="button" className="btn btn-small" data-testid="edit-tpsl" disabled={action.busy} onClick={() => setEditing(p)}>{t('positions.tpsl')}</button>
                    )}
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      data-testid="close-position"
                      disabled={action.busy}
                      onClick={() => {
                        if (window.confirm(t('positions.confirmClose', { instId: p.instId, posSide: p.posSide }))) void action.run(() => onClose(p));
                      }}
                    >
                      {t('positions.close')}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {editing && onSetTpsl && (
        <TpslForm position={editing} tickSz={instruments[editing.instId]?.tickSz} onCancel={() => setEditing(null)} onSave={async (tp, sl) => { await onSetTpsl(editing, tp, sl); setEditing(null); }} />
      )}
    </>
  );
}

function TpslForm({ position, tickSz, onSave, onCancel }: { position: Position; tickSz?: string; onSave: (tp: string | null, sl: string | null) => Promise<void>; onCancel: () => void }) {
  const { t } = useI18n();
  const [tp, setTp] = useState(position.tpTriggerPx ?? '');
  const [sl, setSl] = useState(position.slTriggerPx ?? '');
  const action = useAction();
  const badTick = [tp, sl].some((v) => v.trim() !== '' && offTick(v, tickSz));
  return (
    <form className="inline-form tpsl-form" data-testid="tpsl-form" onSubmit={(e) => { e.preventDefault(); if (!badTick) void action.run(() => onSave(tp.trim() || null, sl.trim() || null)); }}>
      <span className="muted small">{t('positions.tpslTitle', { instId: position.instId })}</span>
      <input name="tpTriggerPx" inputMode="decimal" aria-label={t('trade.tp')} placeholder={t('trade.tp')} value={tp} onChange={(e) => setTp(e.target.value)} />
      <input name="slTriggerPx" inputMode="decimal" aria-label={t('trade.sl')} placeholder={t('trade.sl')} value={sl} onChange={(e) => setSl(e.target.value)} />
      <button type="submit" className="btn btn-small btn-primary" disabled={action.busy || badTick}>{t('positions.tpslSave')}</button>
      <button type="button" className="btn btn-small" onClick={onCancel}>{t('account.cancel')}</button>
      {badTick && <p className="field-error">{t('trade.err.offTick', { tickSz: tickSz ?? '' })}</p>}
      {action.error && <ErrorBox error={action.error} />}
    </form>
  );
}

export function OrdersTable({ orders, instruments, onCancel }: { orders: Order[]; instruments: Record<string, Instrument>; onCancel: (o: Order) => Promise<unknown> }) {
  const { t } = useI18n();
  const action = useAction();
  if (orders.length === 0) return <Empty>{t('orders.none')}</Empty>;
  return (
    <>
      {action.error && <ErrorBox error={action.error} />}
      <div className="table-wrap">
        <table className="stack" data-testid="orders-table">
          <thead>
            <tr>
              <th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th>{t('col.type')}</th><th className="num">{t('col.price')}</th>
              <th className="num">{t('col.size')}</th><th className="num">{t('col.filled')}</th><th>{t('col.state')}</th><th>{t('col.origin')}</th><th className="sticky-action" />
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.id}>
                <td data-label={t('col.time')}>{formatDateTime(o.okxCreatedAt ?? o.createdAt)}</td>
                <td data-label={t('col.instrument')}>{o.instId}</td>
                <td data-label={t('col.side')} className={o.side === 'buy' ? 'up' : 'down'}>{o.side}</td>
                <td data-label={t('col.type')}>{o.ordType}</td>
                <td data-label={t('col.price')} className="num">{o.ordType === 'market' ? '—' : formatPrice(o.px, instruments[o.instId]?.tickSz)}</td>
                <td data-label={t('col.size')} className="num">{formatDecimal(o.sz)}</td>
                <td data-label={t('col.filled')} className="num">{formatDecimal(o.accFillSz ?? '0')}</td>
                <td data-label={t('col.state')}>{o.state}</td>
                <td data-label={t('col.origin')}><OriginLabel origin={o.origin} /></td>
                <td className="sticky-action">
                  <button type="button" className="btn btn-small" data-testid="cancel-order" disabled={action.busy} onClick={() => void action.run(() => onCancel(o))}>
                    {t('orders.cancel')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function FillsTable({ fills, instruments }: { fills: Fill[]; instruments: Record<string, Instrument> }) {
  const { t } = useI18n();
  if (fills.length === 0) return <Empty>{t('fills.none')}</Empty>;
  return (
    <div className="table-wrap">
      <table className="stack" data-testid="fills-table">
        <thead>
          <tr>
            <th>{t('col.time')}</th><th>{t('col.instrument')}</th><th>{t('col.side')}</th><th className="num">{t('col.price')}</th><th className="num">{t('col.size')}</th><th className="num">{t('col.fee')}</th>
          </tr>
        </thead>
        <tbody>
          {fills.map((f) => (
            <tr key={`${f.instId}-${f.tradeId}`}>
              <td data-label={t('col.time')}>{formatDateTime(f.filledAt)}</td>
              <td data-label={t('col.instrument')}>{f.instId}</td>
              <td data-label={t('col.side')} className={f.side === 'buy' ? 'up' : 'down'}>{f.side}</td>
              <td data-label={t('col.price')} className="num">{formatPrice(f.fillPx, instruments[f.instId]?.tickSz)}</td>
              <td data-label={t('col.size')} className="num">{formatDecimal(f.fillSz)}</td>
              <td data-label={t('col.fee')} className="num">{formatDecimal(f.fee)} {f.feeCcy ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
