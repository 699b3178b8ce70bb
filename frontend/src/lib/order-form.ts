// The manual order form's rules, kept out of the component: size conversion, required fields,
// and the request body sent to POST /api/trade/order.
import type { OrderRequest } from '../api/types.ts';
import { type InstrumentSpec, type SizeError, contractsToUsdt, usdtToContracts } from './contracts.ts';
import { isMultipleOf, parseDecimal, sign } from './decimal.ts';

export interface OrderForm {
  instId: string;
  side: 'buy' | 'sell';
  sizeUnit: 'contracts' | 'usdt';
  size: string;
  ordType: 'market' | 'limit';
  px: string;
  leverage: string;
  tpTriggerPx: string;
  slTriggerPx: string;
  /** margin mode; cross when absent */
  tdMode?: 'cross' | 'isolated';
  reduceOnly?: boolean;
}

export type FormError = { key: `trade.err.${SizeError}` | 'trade.err.priceRequired' | 'trade.err.offTick' | 'trade.err.leverage'; params?: Record<string, string>; field: keyof OrderForm };

export type BuiltOrder =
  | { ok: true; request: OrderRequest; contracts: string; notionalUsdt: string }
  | { ok: false; error: FormError };

function positive(text: string): boolean {
  const parsed = parseDecimal(text);
  return parsed !== null && sign(parsed) > 0;
}

/** `lastPrice` converts sizes for market orders; a limit order converts at its own price. */
/** A price the exchange would refuse because it is not a multiple of the tick size (OKX 51000-style error). */
export function offTick(price: string, tickSz: string | null | undefined): boolean {
  const value = parseDecimal(price.trim());
  const tick = parseDecimal(tickSz);
  return value !== null && tick !== null && sign(tick) > 0 && !isMultipleOf(value, tick);
}

/**
 * `lastPrice` converts sizes for market orders; a limit order converts at its own price. Prices off the
 * instrument's tick and a leverage that is not a whole number ≥ 1 are caught here, before submit (a
 * leverage above the guard's `maxLeverage` is the risk guard's to refuse: the form only hints at it).
 */
export function buildOrder(form: OrderForm, spec: (InstrumentSpec & { tickSz?: string }) | undefined, lastPrice: string | null, maxLeverage?: number | null): BuiltOrder {
  if (form.ordType === 'limit' && !positive(form.px)) return { ok: false, error: { key: 'trade.err.priceRequired', field: 'px' } };
  if (!spec) return { ok: false, error: { key: 'trade.err.invalidSpec', field: 'instId' } };
  for (const field of ['px', 'tpTriggerPx', 'slTriggerPx'] as const) {
    if (field === 'px' && form.ordType !== 'limit') continue;
    if (form[field].trim() !== '' && offTick(form[field], spec.tickSz)) return { ok: false, error: { key: 'trade.err.offTick', params: { tickSz: spec.tickSz ?? '' }, field } };
  }
  const wantedLeverage = Number(form.leverage);
  if (form.leverage.trim() !== '' && (!Number.isInteger(wantedLeverage) || wantedLeverage < 1)) {
    return { ok: false, error: { key: 'trade.err.leverage', params: { max: String(maxLeverage ?? 125) }, field: 'leverage' } };
  }
  const price = form.ordType === 'limit' ? form.px.trim() : lastPrice ?? '';
  const sized = form.sizeUnit === 'contracts' ? contractsToUsdt(form.size.trim(), price, spec) : usdtToContracts(form.size.trim(), price, spec);
  if (!sized.ok) {
    const params: Record<string, string> = {};
    if (sized.minSz) params.minSz = sized.minSz;
    if (sized.lotSz) params.lotSz = sized.lotSz;
    return { ok: false, error: { key: `trade.err.${sized.error}`, params, field: sized.error === 'invalidPrice' ? 'px' : 'size' } };
  }
  const request: OrderRequest = { instId: form.instId, side: form.side, ordType: form.ordType, sz: sized.contracts };
  if (form.ordType === 'limit') request.px = form.px.trim();
  const leverage = Number(form.leverage);
  if (form.leverage.trim() !== '' && Number.isInteger(leverage) && leverage > 0) request.leverage = leverage;
  if (positive(form.tpTriggerPx)) request.tpTriggerPx = form.tpTriggerPx.trim();
  if (positive(form.slTriggerPx)) request.slTriggerPx = form.slTriggerPx.trim();
  if (form.tdMode === 'isolated') request.tdMode = 'isolated';
  if (form.reduceOnly) request.reduceOnly = true;
  return { ok: true, request, contracts: sized.contracts, notionalUsdt: sized.notionalUsdt };
}
