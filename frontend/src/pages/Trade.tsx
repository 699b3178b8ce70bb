import { useState } from 'react';
import { ApiError, api, unwrap } from '../api/client.ts';
import type { Balance, OrderPlaced } from '../api/types.ts';
import { RiskPanel, useRisk } from '../components/RiskPanel.tsx';
import { useApiData } from '../hooks/useApiData.ts';
import { orderHints } from '../lib/order-hints.ts';
import { ErrorBox, Loading } from '../components/State.tsx';
import { useAction } from '../hooks/useAction.ts';
import { useInstruments } from '../hooks/useInstruments.ts';
import { useLastPrice, useTickerOrder } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';
import { contractsKey, formatDecimal, formatPrice, formatUsd } from '../lib/format.ts';
import { errorMessageKey } from '../lib/error-text.ts';
import { type OrderForm, buildOrder } from '../lib/order-form.ts';

const EMPTY_FORM: Omit<OrderForm, 'instId'> = { side: 'buy', sizeUnit: 'contracts', size: '', ordType: 'market', px: '', leverage: '', tpTriggerPx: '', slTriggerPx: '', tdMode: 'cross', reduceOnly: false };

export function Trade() {
  const { t } = useI18n();
  const { instruments, byId, error: instrumentsError } = useInstruments();
  const [form, setForm] = useState<OrderForm>({ instId: '', ...EMPTY_FORM });
  const [result, setResult] = useState<OrderPlaced | null>(null);
  const action = useAction();
  const firstTicker = useTickerOrder()[0];
  const instId = form.instId || instruments?.[0]?.instId || firstTicker || '';
  const spec = byId[instId];
  const last = useLastPrice(instId);
  const risk = useRisk();
  const balance = useApiData<Balance>((signal) => unwrap(api.GET('/api/account/balances', { signal })), 'balance', 60_000);
  const maxLeverage = Number(risk.data?.limits.maxLeverage ?? '') || null;
  const built = buildOrder({ ...form, instId }, spec, last, maxLeverage);
  const leverageCap = Math.min(Number(spec?.lever) || 125, maxLeverage ?? 125);
  const hints = orderHints({
    available: balance.data?.usdtAvailable ?? null, equity: balance.data?.totalEq ?? null, maxOrderPct: risk.data?.limits.maxOrderPct ?? null,
    leverage: form.leverage.trim() || null, notionalUsdt: built.ok ? built.notionalUsdt : null, price: form.ordType === 'limit' ? form.px : last, spec,
  });
  const set = <K extends keyof OrderForm>(key: K, value: OrderForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setResult(null);
    action.clearError();
  };
  const showError = form.size.trim() !== '' && !built.ok;

  const submit = () =>
    action.run(async () => {
      if (!built.ok) return;
      setResult(await unwrap(api.POST('/api/trade/order', { body: built.request })));
    });

  if (instrumentsError) return <div className="page"><ErrorBox error={instrumentsError} /></div>;
  if (!instruments) return <div className="page"><Loading /></div>;
  const refusal = action.error instanceof ApiError ? action.error.risk : null;

  return (
    <div className="page trade grid grid-trade">
      <section className="panel order-panel">
        <header className="panel-head"><h2>{t('trade.title')}</h2></header>
        <form className="order-form" onSubmit={(e) => { e.preventDefault(); void submit(); }} data-testid="order-form">
          <label>
            {t('trade.instrument')}
            <select value={instId} onChange={(e) => set('instId', e.target.value)} name="instId">
              {instruments.map((i) => <option key={i.instId} value={i.instId}>{i.instId}</option>)}
            </select>
          </label>
          {spec && (
            <p className="muted small">
              {formatPrice(last, spec.tickSz)} · {t('trade.specs', { ctVal: spec.ctVal, ctValCcy: spec.ctValCcy ?? '', lotSz: spec.lotSz, minSz: spec.minSz, tickSz: spec.tickSz })}
            </p>
          )}
          <fieldset className="segmented">
            <legend>{t('trade.side')}</legend>
            <button type="button" className={`btn ${form.side === 'buy' ? 'btn-buy' : ''}`} aria-pressed={form.side === 'buy'} onClick={() => set('side', 'buy')}>{t('trade.buy')}</button>
            <button type="button" className={`btn ${form.side === 'sell' ? 'btn-sell' : ''}`} aria-pressed={form.side === 'sell'} onClick={() => set('side', 'sell')}>{t('trade.sell')}</button>
          </fieldset>
          <fieldset className="segmented">
            <legend>{t('trade.ordType')}</legend>
            <button type="button" className={`btn ${form.ordType === 'market' ? 'btn-active' : ''}`} aria-pressed={form.ordType === 'market'} onClick={() => set('ordType', 'market')}>{t('trade.market')}</button>
            <button type="button" className={`btn ${form.ordType === 'limit' ? 'btn-active' : ''}`} aria-pressed={form.ordType === 'limit'} onClick={() => set('ordType', 'limit')}>{t('trade.limit')}</button>
          </fieldset>
          {form.ordType === 'limit' && (
            <label>
              {t('trade.price')}
              <input name="px" inputMode="decimal" value={form.px} onChange={(e) => set('px', e.target.value)} />
            </label>
          )}
          <dl className="facts order-facts" data-testid="order-facts">
            <dt>{t('trade.available')}</dt><dd data-testid="available">{hints.available ? `${formatUsd(hints.available)} USDT` : '—'}</dd>
            <dt>{t('trade.maxSize')}</dt><dd data-testid="max-size">{hints.maxContracts ? t(contractsKey(hints.maxContracts), { n: formatDecimal(hints.maxContracts) }) : '—'}{hints.maxNotional ? ` ≈ ${formatUsd(hints.maxNotional)} USDT` : ''}</dd>
          </dl>
          <div className="row">
            <label className="grow">
              {t('trade.size')}
              <input name="size" inputMode="decimal" value={form.size} onChange={(e) => set('size', e.target.value)} />
            </label>
            <label>
              {t('trade.sizeIn')}
              <select name="sizeUnit" value={form.sizeUnit} onChange={(e) => set('sizeUnit', e.target.value as OrderForm['sizeUnit'])}>
                <option value="contracts">{t('trade.contracts')}</option>
                <option value="usdt">{t('trade.usdt')}</option>
              </select>
            </label>
          </div>
          {built.ok && (
            <p className="preview" data-testid="order-preview">
              ≈ {t(contractsKey(built.contracts), { n: formatDecimal(built.contracts) })} ≈ {formatUsd(built.notionalUsdt)} USDT
              {hints.margin && <> · {t('trade.margin', { usdt: formatUsd(hints.margin), lever: hints.marginLeverage })}</>}
            </p>
          )}
          {showError && !built.ok && <p className="field-error" data-testid="order-form-error">{t(built.error.key, built.error.params)}</p>}
          <div className="row">
            <label>
              {t('trade.leverage')} <span className="muted small">({t('trade.optional')})</span>
              <input name="leverage" inputMode="numeric" value={form.leverage} onChange={(e) => set('leverage', e.target.value)} placeholder={`≤ ${leverageCap}`} />
            </label>
            <label>
              {t('trade.tp')} <span className="muted small">({t('trade.optional')})</span>
              <input name="tpTriggerPx" inputMode="decimal" value={form.tpTriggerPx} onChange={(e) => set('tpTriggerPx', e.target.value)} />
            </label>
            <label>
              {t('trade.sl')} <span className="muted small">({t('trade.optional')})</span>
              <input name="slTriggerPx" inputMode="decimal" value={form.slTriggerPx} onChange={(e) => set('slTriggerPx', e.target.value)} />
            </label>
          </div>
          <div className="row options">
            <label>
              {t('trade.tdMode')}
              <select name="tdMode" value={form.tdMode} onChange={(e) => set('tdMode', e.target.value as 'cross' | 'isolated')}>
                <option value="cross">{t('trade.cross')}</option>
                <option value="isolated">{t('trade.isolated')}</option>
              </select>
            </label>
            <label className="checkbox">
              <input type="checkbox" name="reduceOnly" checked={Boolean(form.reduceOnly)} onChange={(e) => set('reduceOnly', e.target.checked)} />
              {t('trade.reduceOnly')}
            </label>
          </div>
          {maxLeverage !== null && Number(form.leverage) > maxLeverage && <p className="field-warn" data-testid="leverage-hint">{t('trade.leverageAbove', { max: maxLeverage })}</p>}
          <button type="submit" className={`btn btn-large ${form.side === 'buy' ? 'btn-buy' : 'btn-sell'}`} disabled={!built.ok || action.busy} data-testid="place-order">
            {t('trade.submit')}
          </button>
        </form>
        {result && <div className="notice" role="status" data-testid="order-result">{t('trade.placed', { ordId: result.order?.ordId ?? result.order?.clOrdId ?? result.clOrdId ?? '—' })}{result.order?.state ? ` · ${result.order.state}` : ''}</div>}
        {refusal ? (
          <div className="risk-refusal" role="alert" data-testid="risk-refusal">
            <strong>{t('trade.refused')}</strong>
            <p>{t(errorMessageKey({ status: 422, rule: refusal.rule, message: refusal.message }) ?? 'trade.refused')}</p>
            <p className="muted small">{refusal.message}</p>
            <dl className="facts">
              <dt>{t('trade.rule')}</dt><dd><code>{refusal.rule}</code></dd>
              <dt>{t('trade.limitValue')}</dt><dd>{refusal.limit ?? '—'}</dd>
              <dt>{t('trade.actual')}</dt><dd>{refusal.actual ?? '—'}</dd>
            </dl>
          </div>
        ) : (
          action.error && <ErrorBox error={action.error} />
        )}
      </section>
      <RiskPanel />
    </div>
  );
}
