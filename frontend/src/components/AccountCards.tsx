import { useState } from 'react';
import type { Balance, InitialEquity } from '../api/types.ts';
import { useAction } from '../hooks/useAction.ts';
import { useI18n } from '../i18n.tsx';
import { formatPct, formatUsd } from '../lib/format.ts';
import { accountPnl, validateInitialEquity } from '../lib/pnl.ts';
import { ErrorBox } from './State.tsx';

export function AccountCards({ balance, initialEquity, onSaveInitial }: {
  balance: Balance | undefined;
  initialEquity: InitialEquity | undefined;
  onSaveInitial: (amount: number) => Promise<unknown>;
}) {
  const { t } = useI18n();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [inputError, setInputError] = useState<string | null>(null);
  const save = useAction();
  const pnl = accountPnl(balance?.totalEq, initialEquity?.amount);
  const tone = pnl ? (pnl.direction > 0 ? 'up' : pnl.direction < 0 ? 'down' : '') : '';

  const submit = async () => {
    const checked = validateInitialEquity(draft);
    if (!checked.ok) {
      setInputError(t(`account.err.${checked.error}`));
      return;
    }
    setInputError(null);
    const done = await save.run(() => onSaveInitial(checked.amount));
    if (done !== undefined) setEditing(false);
  };

  return (
    <div className="cards" data-testid="account-cards">
      <div className="card stat">
        <span className="stat-label">{t('account.equity')}</span>
        <span className="stat-value"><span data-testid="equity">{formatUsd(balance?.totalEq)}</span> <span className="unit">{balance?.totalEqCcy || 'USD'}</span></span>
      </div>
      <div className="card stat">
        <span className="stat-label">{t('account.available')}</span>
        <span className="stat-value">{formatUsd(balance?.usdtAvailable)} <span className="unit">USDT</span></span>
        <span className="stat-sub">{t('account.frozen')} {formatUsd(balance?.usdtFrozen)} USDT</span>
      </div>
      <div className="card stat">
        <span className="stat-label">{t('account.pnl')}</span>
        <span className={`stat-value ${tone}`}><span data-testid="pnl">{formatUsd(pnl?.pnl, { signed: true })}</span> <span className="unit">USD</span></span>
        <span className={`stat-sub ${tone}`} data-testid="pnl-pct">{formatPct(pnl?.pnlPct)}</span>
      </div>
      <div className="card stat">
        <span className="stat-label">{t('account.initialEquity')}</span>
        {editing ? (
          <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
            <input aria-label={t('account.initialEquity')} inputMode="decimal" value={draft} onChange={(e) => setDraft(e.target.value)} autoFocus />
            <button type="submit" className="btn btn-small btn-primary" disabled={save.busy}>{t('account.save')}</button>
            <button type="button" className="btn btn-small" onClick={() => setEditing(false)}>{t('account.cancel')}</button>
          </form>
        ) : (
          <span className="stat-value">
            {initialEquity?.amount ? `${formatUsd(initialEquity.amount)} USD` : <span className="muted">{t('account.initialUnset')}</span>}
            <button type="button" className="btn btn-link" onClick={() => { setDraft(initialEquity?.amount ?? ''); setEditing(true); }}>
              {t('account.edit')}
            </button>
          </span>
        )}
        {inputError && <span className="field-error">{inputError}</span>}
        {save.error && <ErrorBox error={save.error} />}
      </div>
    </div>
  );
}
