// Performance statistics from the account's records: closed positions (GET /api/account/positions/history),
// fills (fees, fill PnL, origin) and the equity curve. Pure: money sums in decimals, ratios as numbers.
import type { Fill, PositionRecord } from '../api/types.ts';
import type { LinePoint } from './chart-data.ts';
import { type Decimal, add, compare, div, neg, parseDecimal, sign, toFixed } from './decimal.ts';
import { parseTime } from './format.ts';
import { type OriginGroup, originGroup } from './origin.ts';

export type Period = '1d' | '7d' | '30d' | 'all';
export const PERIODS: readonly Period[] = ['1d', '7d', '30d', 'all'];
const PERIOD_MS: Record<Period, number | null> = { '1d': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, all: null };

/** Start (ms) of the period ending now; null = everything. */
export function periodStart(period: Period, nowMs: number): number | null {
  const length = PERIOD_MS[period];
  return length === null ? null : nowMs - length;
}

export function inPeriod(value: string | null | undefined, start: number | null): boolean {
  const ms = parseTime(value ?? null);
  return ms !== null && (start === null || ms >= start);
}

const ZERO: Decimal = { coef: 0n, scale: 0 };
const sum = (values: readonly (string | null | undefined)[]): Decimal => values.reduce<Decimal>((acc, v) => add(acc, parseDecimal(v) ?? ZERO), ZERO);

export interface PerformanceStats {
  trades: number;
  wins: number;
  losses: number;
  /** wins ÷ trades, 0..1; null without trades */
  winRate: number | null;
  realizedPnl: string;
  grossProfit: string;
  grossLoss: string;
  /** gross profit ÷ |gross loss|; Infinity with profits and no loss; null without trades */
  profitFactor: number | null;
  fees: string;
}

/** Closed positions (and the fills of the same period, for fees) → the headline numbers. */
export function performanceStats(closed: readonly Pick<PositionRecord, 'realizedPnl'>[], fills: readonly Pick<Fill, 'fee'>[]): PerformanceStats {
  let wins = 0;
  let losses = 0;
  let profit = ZERO;
  let loss = ZERO;
  for (const position of closed) {
    const pnl = parseDecimal(position.realizedPnl);
    if (!pnl) continue;
    if (sign(pnl) > 0) {
      wins += 1;
      profit = add(profit, pnl);
    } else if (sign(pnl) < 0) {
      losses += 1;
      loss = add(loss, pnl);
    }
  }
  const trades = closed.length;
  const lossAbs = neg(loss);
  let profitFactor: number | null = null;
  if (trades > 0) {
    if (sign(lossAbs) === 0) profitFactor = sign(profit) > 0 ? Infinity : null;
    else profitFactor = Number(toFixed(div(profit, lossAbs, 4)!, 4));
  }
  return {
    trades, wins, losses,
    winRate: trades > 0 ? wins / trades : null,
    realizedPnl: toFixed(add(profit, loss), 2),
    grossProfit: toFixed(profit, 2),
    grossLoss: toFixed(loss, 2),
    profitFactor,
    fees: toFixed(sum(fills.map((f) => f.fee)), 4),
  };
}

export interface Drawdown {
  /** largest peak-to-trough fall, in the curve's unit (USDT) */
  amount: number;
  /** that fall ÷ the peak, 0..1 */
  pct: number;
  peakTs: number | null;
  troughTs: number | null;
}

/** Largest peak-to-trough fall of an equity curve (ascending points). */
export function maxDrawdown(points: readonly LinePoint[]): Drawdown {
  let peak: LinePoint | null = null;
  let worst: Drawdown = { amount: 0, pct: 0, peakTs: null, troughTs: null };
  for (const point of points) {
    if (!peak || point.value > peak.value) peak = point;
    const fall = peak.value - point.value;
    if (fall > worst.amount) worst = { amount: fall, pct: peak.value > 0 ? fall / peak.value : 0, peakTs: peak.ts, troughTs: point.ts };
  }
  return worst;
}

export interface OriginRow {
  group: OriginGroup;
  fills: number;
  /** sum of the fills' PnL (OKX fillPnl: realised on closing fills) */
  pnl: string;
  fees: string;
}

/** Fills grouped by who placed the order: AI analysis, AI chat, MCP client, manual. */
export function byOrigin(fills: readonly Pick<Fill, 'origin' | 'fillPnl' | 'fee'>[]): OriginRow[] {
  const groups = new Map<OriginGroup, { fills: number; pnl: Decimal; fees: Decimal }>();
  for (const fill of fills) {
    const group = originGroup(fill.origin);
    const row = groups.get(group) ?? { fills: 0, pnl: ZERO, fees: ZERO };
    row.fills += 1;
    row.pnl = add(row.pnl, parseDecimal(fill.fillPnl) ?? ZERO);
    row.fees = add(row.fees, parseDecimal(fill.fee) ?? ZERO);
    groups.set(group, row);
  }
  const order: OriginGroup[] = ['analysis', 'chat', 'mcp', 'manual', 'other'];
  return order.filter((g) => groups.has(g)).map((group) => {
    const row = groups.get(group)!;
    return { group, fills: row.fills, pnl: toFixed(row.pnl, 2), fees: toFixed(row.fees, 4) };
  });
}

export interface DailyPnl {
  /** local calendar day, YYYY-MM-DD */
  day: string;
  pnl: string;
  trades: number;
}

function localDay(ms: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

/** Realised PnL of the closed positions per local day, newest first. */
export function dailyPnl(closed: readonly Pick<PositionRecord, 'realizedPnl' | 'closedAt'>[], timeZone?: string): DailyPnl[] {
  const days = new Map<string, { pnl: Decimal; trades: number }>();
  for (const position of closed) {
    const ms = parseTime(position.closedAt ?? null);
    if (ms === null) continue;
    const day = localDay(ms, timeZone);
    const row = days.get(day) ?? { pnl: ZERO, trades: 0 };
    row.pnl = add(row.pnl, parseDecimal(position.realizedPnl) ?? ZERO);
    row.trades += 1;
    days.set(day, row);
  }
  return [...days.entries()].sort(([a], [b]) => (a < b ? 1 : -1)).map(([day, row]) => ({ day, pnl: toFixed(row.pnl, 2), trades: row.trades }));
}

/** One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Closed positions as CSV (what the export button downloads). */
export function closedPositionsCsv(closed: readonly PositionRecord[]): string {
  return toCsv(
    ['closedAt', 'openedAt', 'instId', 'posSide', 'pos', 'avgPx', 'lever', 'realizedPnl', 'closeReason', 'closeOrigin', 'closeRunId'],
    closed.map((p) => [p.closedAt, p.openedAt, p.instId, p.posSide, p.pos, p.avgPx, p.lever, p.realizedPnl, p.closeReason, p.closeOrigin, p.closeRunId]),
  );
}

/** Whether a is greater than b as decimals (for colouring). */
export function isPositive(value: string | null | undefined): boolean {
  const parsed = parseDecimal(value);
  return parsed ? compare(parsed, ZERO) > 0 : false;
}
