// Profit and loss of the account measured against the initial equity the user set.
import { type Decimal, div, mul, parseDecimal, sign, sub, toFixed, toString } from './decimal.ts';

export interface AccountPnl {
  /** equity − initial, exact. */
  pnl: string;
  /** pnl ÷ initial × 100 rounded to `pctDecimals`; null when the initial equity is zero. */
  pnlPct: string | null;
  direction: -1 | 0 | 1;
}

const HUNDRED: Decimal = { coef: 100n, scale: 0 };

/** Null when either input is missing or not a number (the card then shows a dash, not a guess). */
export function accountPnl(
  equity: string | number | null | undefined,
  initialEquity: string | number | null | undefined,
  pctDecimals = 2,
): AccountPnl | null {
  const eq = parseDecimal(equity);
  const initial = parseDecimal(initialEquity);
  if (!eq || !initial) return null;
  const pnl = sub(eq, initial);
  const ratio = div(mul(pnl, HUNDRED), initial, pctDecimals);
  return { pnl: toString(pnl), pnlPct: ratio ? toFixed(ratio, pctDecimals) : null, direction: sign(pnl) };
}

/** Validates what a person typed as initial equity: a plain non-negative number, or a message key. */
export function validateInitialEquity(text: string): { ok: true; amount: number } | { ok: false; error: 'required' | 'notNumber' | 'negative' } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'required' };
  const parsed = parseDecimal(trimmed);
  if (!parsed || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed)) return { ok: false, error: 'notNumber' };
  if (sign(parsed) < 0) return { ok: false, error: 'negative' };
  return { ok: true, amount: Number(trimmed) };
}
