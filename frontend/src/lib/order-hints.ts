// The order form's hints: available balance, the largest order the balance and the risk guard allow,
// and the margin an order would take. Pure: decimal strings in, decimal strings out.
import { type InstrumentSpec, usdtToContracts } from './contracts.ts';
import { type Decimal, compare, div, mul, parseDecimal, sign, toFixed } from './decimal.ts';

export interface HintInput {
  available: string | null;
  equity: string | null;
  /** the risk guard's largest order as % of equity */
  maxOrderPct: string | null;
  /** the leverage typed in the form (whole number), or null for 1× */
  leverage: string | null;
  notionalUsdt: string | null;
  price: string | null;
  spec: InstrumentSpec | undefined;
}

export interface OrderHints {
  available: string | null;
  /** largest notional: min(available × leverage, equity × maxOrderPct %) */
  maxNotional: string | null;
  maxContracts: string | null;
  /** initial margin of the order = notional ÷ leverage */
  margin: string | null;
  marginLeverage: number;
}

const HUNDRED: Decimal = { coef: 100n, scale: 0 };

export function orderHints(input: HintInput): OrderHints {
  const leverageNumber = Number(input.leverage);
  const lever = input.leverage && Number.isInteger(leverageNumber) && leverageNumber >= 1 ? leverageNumber : 1;
  const leverDecimal: Decimal = { coef: BigInt(lever), scale: 0 };
  const available = parseDecimal(input.available);
  const equity = parseDecimal(input.equity);
  const pct = parseDecimal(input.maxOrderPct);
  const caps: Decimal[] = [];
  if (available && sign(available) >= 0) caps.push(mul(available, leverDecimal));
  if (equity && pct && sign(equity) > 0) caps.push(div(mul(equity, pct), HUNDRED, 8)!);
  const maxNotional = caps.length ? caps.reduce((a, b) => (compare(a, b) <= 0 ? a : b)) : null;
  let maxContracts: string | null = null;
  if (maxNotional && input.spec && input.price) {
    const sized = usdtToContracts(toFixed(maxNotional, 8), input.price, input.spec);
    maxContracts = sized.ok ? sized.contracts : sized.contracts ?? '0';
  }
  const notional = parseDecimal(input.notionalUsdt);
  return {
    available: available ? toFixed(available, 2) : null,
    maxNotional: maxNotional ? toFixed(maxNotional, 2, 'down') : null,
    maxContracts,
    margin: notional ? toFixed(div(notional, leverDecimal, 8)!, 2, 'up') : null,
    marginLeverage: lever,
  };
}
