// Server errors in words a trader reads, in both languages: risk rule ids and OKX error codes map to
// messages; the server's own text stays available as the detail.
import type { MessageKey } from './i18n-messages.ts';

const RULES: Record<string, MessageKey> = {
  instrument_not_allowed: 'err.rule.instrument_not_allowed',
  max_leverage: 'err.rule.max_leverage',
  stop_loss_required: 'err.rule.stop_loss_required',
  daily_loss_limit: 'err.rule.daily_loss_limit',
  max_order_pct: 'err.rule.max_order_pct',
  max_exposure_pct: 'err.rule.max_exposure_pct',
};

/** OKX v5 codes (code / sCode) the app's users meet most. */
const OKX_CODES: Record<string, MessageKey> = {
  '50011': 'err.okx.rateLimit',
  '50001': 'err.okx.unavailable',
  '50013': 'err.okx.unavailable',
  '51000': 'err.okx.param',
  '51001': 'err.okx.instrument',
  '51004': 'err.okx.leverage',
  '51006': 'err.okx.priceRange',
  '51008': 'err.okx.margin',
  '51020': 'err.okx.minSize',
  '51121': 'err.okx.lotSize',
  '51400': 'err.okx.cancelGone',
  '51603': 'err.okx.orderGone',
  '51169': 'err.okx.noPosition',
};

export interface ErrorFacts {
  status: number;
  rule?: string | null;
  code?: string | null;
  message: string;
}

/** The message key for an error, or null when only the server's text describes it. */
export function errorMessageKey(error: ErrorFacts): MessageKey | null {
  if (error.rule && RULES[error.rule]) return RULES[error.rule]!;
  const code = error.code ?? /OKX error (\d{5})/.exec(error.message)?.[1] ?? null;
  if (code && OKX_CODES[code]) return OKX_CODES[code]!;
  if (error.status === 0) return 'err.network';
  if (error.status === 401) return 'err.unauthorized';
  if (error.status === 429) return 'err.okx.rateLimit';
  if (error.status === 503) return 'err.unavailable';
  if (error.status >= 500) return 'err.server';
  return null;
}
