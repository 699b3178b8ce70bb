import { useEffect } from 'react';
import type { RunView } from '../api/extensions.ts';
import type { RunOrder, RunToolCall } from '../api/types.ts';
import { DecisionBlock } from './Decision.tsx';
import { OriginLabel } from './OriginLabel.tsx';
import { ToolResult } from './ToolResult.tsx';
import { useNow } from '../hooks/useNow.ts';
import { useI18n } from '../i18n.tsx';
import { formatBps, formatDateTime, formatDecimal, formatDuration, formatPrice } from '../lib/format.ts';
import { runDeviationBps, runDurationMs } from '../lib/strategy.ts';
import { Tag } from './Tag.tsx';

export function JsonBlock({ value }: { value: unknown }) {
  if (value === undefined || value === null || value === '') return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return <pre className="json">{text.length > 4000 ? text.slice(0, 4000) + '\n…' : text}</pre>;
}

/** Tool arguments and results are JSON text; shown pretty when they parse, as text when not. */
function parseJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function RunDetail({ run, tickSz, onClose }: { run: RunView; tickSz?: string; onClose: () => void }) {
  const { t } = useI18n();
  const now = useNow(1000);
  // The agent's records, as the API declares them (keys it does not know yet arrive in `extra`).
  const toolCalls: RunToolCall[] = run.toolCalls ?? [];
  const orders: RunOrder[] = run.orders ?? [];
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={t('run.detail')} onClick={(e) => e.stopPropagation()} data-testid="run-detail">
        <header className="panel-head">
          <h2>{t('run.detail')} · {run.instId}</h2>
          <button type="button" className="btn btn-small" onClick={onClose}>{t('run.close')}</button>
        </header>
        <div className="detail-meta">
          <Tag kind="source" value={run.source} /> <Tag kind="status" value={run.status} />
          {run.provider === 'offline' && <span className="tag tag-offline">{t('run.offline')}</span>}
          <span className="muted small">
            {formatDateTime(run.triggeredAt)} · {formatDuration(runDurationMs(run.triggeredAt, run.finishedAt, now))} · {formatPrice(run.triggerPrice, tickSz)} / {formatPrice(run.baselinePrice, tickSz)} · {formatBps(runDeviationBps(run))}
            {run.costUsd ? ` · $${formatDecimal(run.costUsd, 4)}` : ''}
            {run.provider ? ` · ${run.provider}` : ''}
            {run.model ? ` / ${run.model}` : ''}
          </span>
        </div>
        {run.error && (
          <section>
            <h3>{t('run.error')}</h3>
            <p className="down">{run.reason ? <><code>{run.reason}</code> · </> : null}{run.error}</p>
          </section>
        )}
        <DecisionBlock run={run} tickSz={tickSz} />
        <section>
          <h3>{t('run.summary')}</h3>
          <p className="summary" data-testid="run-summary">{run.summary ?? '—'}</p>
          <p>{t('run.confidence')}: <strong>{run.confidence ?? '—'}</strong></p>
        </section>
        <section>
          <h3>{t('run.toolCalls')}</h3>
          {toolCalls.length === 0 ? (
            <p className="muted">{t('run.noTools')}</p>
          ) : (
            <ol className="tool-list" data-testid="run-tool-calls">
              {toolCalls.map((call, index) => (
                <li key={call.id || index}>
                  <details>
                    <summary>
                      <code>{call.name}</code> {call.ok ? <span className="up">✓</span> : <span className="down">✕</span>}
                      {typeof call.durationMs === 'number' ? <span className="muted small"> {formatDuration(call.durationMs)}</span> : null}
                    </summary>
                    <JsonBlock value={parseJsonText(call.arguments)} />
                    <ToolResult value={parseJsonText(call.result)} />
                  </details>
                </li>
              ))}
            </ol>
          )}
        </section>
        <section>
          <h3>{t('run.orders')}</h3>
          {orders.length === 0 ? (
            <p className="muted">{t('run.noOrders')}</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead><tr><th>{t('run.tool')}</th><th>{t('col.side')}</th><th>{t('col.type')}</th><th className="num">{t('col.size')}</th><th className="num">{t('col.fillPrice')}</th><th>{t('col.tpsl')}</th><th>{t('col.state')}</th><th>{t('col.approval')}</th><th>{t('col.origin')}</th></tr></thead>
                <tbody>
                  {orders.map((o, index) => (
                    <tr key={o.clOrdId ?? index}>
                      <td><code>{o.tool}</code></td>
                      <td className={o.side === 'buy' ? 'up' : o.side === 'sell' ? 'down' : ''}>{o.side ?? '—'}</td>
                      <td>{o.ordType ?? '—'}</td>
                      <td className="num">{formatDecimal(o.sz)}</td>
                      <td className="num">{formatPrice(o.avgPx, tickSz)}</td>
                      <td>{formatPrice(o.tpTriggerPx, tickSz)} / {formatPrice(o.slTriggerPx, tickSz)}</td>
                      <td>{o.state ?? o.status ?? '—'}</td>
                      <td data-testid="run-order-approval">{o.approvalStatus ?? '—'}</td>
                      <td>{o.origin ? <OriginLabel origin={o.origin} /> : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </div>
  );
}
