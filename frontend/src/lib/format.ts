// Number and time formatting for the screens. Inputs are the API's decimal strings; grouping and
// rounding are done on the decimal text so large balances keep every digit.
import { abs, div, mul, normalize, parseDecimal, round, sign, stepDecimals, sub, toFixed } from './decimal.ts';


const DASH = '—';

/** "1234567.891" → "1,234,567.89" with `decimals` digits (all digits kept when omitted). */
export function formatDecimal(value: string | number | null | undefined, decimals?: number, options: { signed?: boolean } = {}): string {
  const parsed = parseDecimal(value);
  if (!parsed) return DASH;
  const rounded = decimals === undefined ? normalize(parsed) : round(parsed, decimals);
  const text = toFixed(abs(rounded), decimals);
  const [whole = '0', fraction] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = sign(rounded) < 0;
  const prefix = negative ? '-' : options.signed && sign(rounded) > 0 ? '+' : '';
  return prefix + grouped + (fraction !== undefined ? '.' + fraction : '');
}

/** Price with the instrument's tick precision (tickSz "0.1" → 1 decimal). */
export function formatPrice(value: string | number | null | undefined, tickSz?: string | null): string {
  return formatDecimal(value, stepDecimals(tickSz) ?? undefined);
}

export function formatUsd(value: string | number | null | undefined, options: { signed?: boolean } = {}): string {
  return formatDecimal(value, 2, options);
}

/** "1.234" → "+1.23%". */
export function formatPct(value: string | number | null | undefined, decimals = 2): string {
  const text = formatDecimal(value, decimals, { signed: true });
  return text === DASH ? DASH : text + '%';
}

/** 24 h change in percent from the ticker's last and open24h; null when open is missing or 0. */
export function change24hPct(last: string | null | undefined, open24h: string | null | undefined): string | null {
  const l = parseDecimal(last);
  const o = parseDecimal(open24h);
  if (!l || !o || o.coef === 0n) return null;
  const pct = div(mul(sub(l, o), { coef: 100n, scale: 0 }), o, 2);
  return pct ? toFixed(pct, 2) : null;
}

/** Basis points with one decimal and a sign: 80.04 → "+80.0 bp". */
export function formatBps(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const rounded = Math.round(value * 10) / 10;
  return `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)} bp`;
}

/** Duration for humans: 850 → "850 ms", 12_300 → "12.3 s", 95_000 → "1 m 35 s", 3_720_000 → "1 h 2 m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0 ? `${hours} h ${minutes} m` : `${minutes} m ${seconds} s`;
}

/** Countdown "mm:ss" (or "h:mm:ss") to a target time; "00:00" once due; null target → dash. */
export function formatCountdown(targetMs: number | null | undefined, nowMs: number): string {
  if (targetMs === null || targetMs === undefined || !Number.isFinite(targetMs)) return DASH;
  const remaining = Math.max(0, Math.ceil((targetMs - nowMs) / 1000));
  const hours = Math.floor(remaining / 3600);
  const minutes = Math.floor((remaining % 3600) / 60);
  const seconds = remaining % 60;
  const mmss = `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

/** Parses the API's times: ISO-8601 strings, OKX millisecond strings, or numbers (ms). */
export function parseTime(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

/** Local date-time, e.g. "2026-11-25 19:20:05" (24 h), in the given time zone (default: the browser's). */
export function formatDateTime(value: string | number | null | undefined, timeZone?: string): string {
  const ms = parseTime(value);
  if (ms === null) return DASH;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** Time of day only, "19:20:05". */
export function formatClock(value: string | number | null | undefined, timeZone?: string): string {
  const full = formatDateTime(value, timeZone);
  return full === DASH ? DASH : full.slice(11);
}

/** "5 s ago", "3 min ago", "2 h ago" in the given language. */
export function formatAgo(value: string | number | null | undefined, nowMs: number, lang: 'en' | 'zh'): string {
  const ms = parseTime(value);
  if (ms === null) return DASH;
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  const [n, unit] = seconds < 60 ? [seconds, 's'] : seconds < 3600 ? [Math.floor(seconds / 60), 'm'] : seconds < 86400 ? [Math.floor(seconds / 3600), 'h'] : [Math.floor(seconds / 86400), 'd'];
  if (lang === 'zh') return `${n}${{ s: '秒', m: '分钟', h: '小时', d: '天' }[unit]}前`;
  return `${n} ${{ s: 's', m: 'min', h: 'h', d: 'd' }[unit]} ago`;
}

export { DASH };

/** The browser's IANA time zone with its UTC offset, e.g. "Asia/Shanghai (UTC+8)": the times shown are in it. */
export function browserTimeZone(now = new Date()): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const offset = -now.getTimezoneOffset();
  const hours = Math.trunc(Math.abs(offset) / 60);
  const minutes = Math.abs(offset) % 60;
  const text = offset === 0 ? 'UTC' : `UTC${offset > 0 ? '+' : '-'}${hours}${minutes ? ':' + String(minutes).padStart(2, '0') : ''}`;
  return zone === 'UTC' || zone === 'Etc/UTC' ? text : `${zone} (${text})`;
}

/** "1 contract" but "0.5 contracts", "2 contracts": the message key for a contract count. */
export function contractsKey(value: string | number | null | undefined): 'unit.contract' | 'unit.contracts' {
  const parsed = parseDecimal(value);
  return parsed && normalize(parsed).coef === 1n && normalize(parsed).scale === 0 ? 'unit.contract' : 'unit.contracts';
}
