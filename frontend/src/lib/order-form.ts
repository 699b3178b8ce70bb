// The manual order form's rules, kept out of the component: size conversion, required fields,
// and the request body sent to POST /api/trade/order.
import type { OrderRequest } from '../api/types.ts';
import { type InstrumentSpec, type SizeError, contractsToUsdt, usdtToContracts } from './contracts.ts';
import { parseDecimal, sign } from './decimal.ts';

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
}

export type FormError = { key: `trade.err.${SizeError}` | 'trade.err.priceRequired'; params?: Record<string, string>; field: keyof OrderForm };

export type BuiltOrder =
  | { ok: true; request: OrderRequest; contracts: string; notionalUsdt: string }
  | { ok: false; error: FormError };

function positive(text: string): boolean {
  const parsed = parseDecimal(text);
  return parsed !== null && sign(parsed) > 0;
}

/** `lastPrice` converts sizes for market orders; a limit order converts at its own price. */
export function buildOrder(form: OrderForm, spec: InstrumentSpec | undefined, lastPrice: string | null): BuiltOrder {
  if (form.ordType === 'limit' && !positive(form.px)) return { ok: false, error: { key: 'trade.err.priceRequired', field: 'px' } };
  if (!spec) return { ok: false, error: { key: 'trade.err.invalidSpec', field: 'instId' } };
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
  return { ok: true, request, contracts: sized.contracts, notionalUsdt: sized.notionalUsdt };
}
