// Turns API records into chart series. Pure: lightweight-charts itself is loaded lazily by the
// chart components, so nothing here imports it.
import type { BalanceSnapshot, Candle } from '../api/types.ts';
import { parseDecimal, toNumber } from './decimal.ts';
import { parseTime } from './format.ts';

export interface CandlePoint {
  /** bar open time, ms */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export interface LinePoint {
  ts: number;
  value: number;
}

export type RunSource = 'volatility' | 'schedule' | 'manual';

export interface RunMarker {
  ts: number;
  source: RunSource;
  status: string;
  runId: string;
}

const UNIT_MS: Record<string, number> = { m: 60_000, H: 3_600_000, D: 86_400_000, W: 604_800_000, M: 2_592_000_000 };

/** OKX bar name → bar length in ms ("3m" → 180000, "1H" → 3600000, "1Dutc" → 86400000); null if unknown. */
export function barMs(bar: string | null | undefined): number | null {
  const match = /^(\d+)([mHDWM])(utc)?$/.exec(bar ?? '');
  if (!match) return null;
  const unit = UNIT_MS[match[2]!];
  return unit ? Number(match[1]) * unit : null;
}

function num(value: string | number | null | undefined): number | null {
  const parsed = parseDecimal(value);
  return parsed ? toNumber(parsed) : null;
}

/** The fields of an API candle (GET /api/market/candles `candles[]`) the chart needs. */
export type CandleRecord = Pick<Candle, 'ts' | 'o' | 'h' | 'l' | 'c'>;

/** API candles → ascending, one per timestamp (the newest record wins), invalid rows dropped. */
export function toCandlePoints(records: readonly CandleRecord[]): CandlePoint[] {
  const byTs = new Map<number, CandlePoint>();
  for (const record of records) {
    const ts = parseTime(record.ts);
    const open = num(record.o);
    const high = num(record.h);
    const low = num(record.l);
    const close = num(record.c);
    if (ts === null || open === null || high === null || low === null || close === null) continue;
    byTs.set(ts, { ts, open, high, low, close });
  }
  return [...byTs.values()].sort((a, b) => a.ts - b.ts);
}

/**
 * Applies a live ticker price to the candle list: the last bar's close/high/low move, or a new bar
 * opens when the tick falls past it. Bars of a day or longer are only updated (OKX aligns them to
 * a time zone we do not know here). Returns a new array; ticks older than the last bar are ignored.
 */
export function applyTick(candles: readonly CandlePoint[], price: number, tickMs: number, lengthMs: number | null): CandlePoint[] {
  const last = candles[candles.length - 1];
  if (!last || !Number.isFinite(price) || price <= 0 || tickMs < last.ts) return candles as CandlePoint[];
  const withinLast = lengthMs === null || lengthMs >= 86_400_000 || tickMs < last.ts + lengthMs;
  if (withinLast) {
    const updated = { ...last, close: price, high: Math.max(last.high, price), low: Math.min(last.low, price) };
    return [...candles.slice(0, -1), updated];
  }
  const ts = Math.floor(tickMs / lengthMs) * lengthMs;
  return [...candles, { ts, open: price, high: price, low: price, close: price }];
}

/** The fields of a stored balance snapshot (GET /api/account/balances/snapshots) the curve needs. */
export type SnapshotRecord = Pick<BalanceSnapshot, 'totalEq' | 'ts'>;

/** Balance snapshots → ascending equity points, one per second (charts need strictly rising times). */
export function toEquityPoints(snapshots: readonly SnapshotRecord[], live?: { totalEq: string; ts: number } | null): LinePoint[] {
  const bySecond = new Map<number, LinePoint>();
  const addPoint = (ms: number | null, value: number | null) => {
    if (ms === null || value === null) return;
    const second = Math.floor(ms / 1000);
    bySecond.set(second, { ts: second * 1000, value });
  };
  for (const snapshot of snapshots) addPoint(parseTime(snapshot.ts), num(snapshot.totalEq));
  const points = [...bySecond.values()].sort((a, b) => a.ts - b.ts);
  if (live) {
    const last = points[points.length - 1];
    const value = num(live.totalEq);
    if (value !== null && (!last || live.ts >= last.ts + 1000)) points.push({ ts: Math.floor(live.ts / 1000) * 1000, value });
  }
  return points;
}

export interface RunRecord {
  id: string;
  source: string;
  status: string;
  triggeredAt: string;
}

/** Runs → markers placed on the bar they were triggered in, ascending, only within the candles shown. */
export function toRunMarkers(runs: readonly RunRecord[], candles: readonly CandlePoint[], lengthMs: number | null): RunMarker[] {
  const first = candles[0];
  const last = candles[candles.length - 1];
  if (!first || !last) return [];
  const barTimes = candles.map((c) => c.ts);
  const markers: RunMarker[] = [];
  for (const run of runs) {
    const ts = parseTime(run.triggeredAt);
    if (ts === null || ts < first.ts) continue;
    if (lengthMs !== null && ts >= last.ts + lengthMs) continue;
    // the bar whose open is the greatest not after the trigger time
    let lo = 0;
    let hi = barTimes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (barTimes[mid]! <= ts) lo = mid;
      else hi = mid - 1;
    }
    if (run.source !== 'volatility' && run.source !== 'schedule' && run.source !== 'manual') continue;
    markers.push({ ts: barTimes[lo]!, source: run.source, status: run.status, runId: run.id });
  }
  return markers.sort((a, b) => a.ts - b.ts);
}

/** Chart time in seconds, shifted so the chart's UTC axis shows the browser's local clock. */
export function toChartSeconds(ms: number, timezoneOffsetMinutes: number): number {
  return Math.floor(ms / 1000) - timezoneOffsetMinutes * 60;
}

/** What the candle chart shows: whose candles (instrument and bar) and the first bar and count. */
export interface ShownSeries {
  seriesKey: string;
  firstTs: number;
  length: number;
}

/**
 * How to bring the chart from `shown` to `next`: a live tick of the same series touches only the last
 * bar (or adds one) → 'update' keeps the user's scroll and zoom; anything else (another instrument or
 * bar, a reload that changed history) → 'replace'. Another series is always replaced, even when its
 * first timestamp and length happen to match (two instruments loaded with the same bar do).
 */
export function chartUpdateKind(shown: ShownSeries | null, next: ShownSeries | null): 'update' | 'replace' {
  if (!shown || !next || shown.seriesKey !== next.seriesKey || shown.firstTs !== next.firstTs) return 'replace';
  return next.length === shown.length || next.length === shown.length + 1 ? 'update' : 'replace';
}

export interface SnapshotPageAnswer<S> {
  snapshots: S[];
  nextAfter: number | null;
}

/**
 * The stored equity curve, fetched incrementally: only the snapshots after the last id already held
 * are asked for (the API pages with the cursor `after` = the last id seen), appended oldest first.
 * The first load starts at 0; at most `maxPages` pages per call, the rest follows on the next refresh.
 */
export async function loadSnapshotsAfter<S extends { id: number }>(
  held: readonly S[],
  fetchPage: (after: number) => Promise<SnapshotPageAnswer<S>>,
  maxPages = 20,
): Promise<S[]> {
  const all = [...held];
  let after: number | null = held.length > 0 ? held[held.length - 1]!.id : 0;
  for (let page = 0; page < maxPages && after !== null; page += 1) {
    const answer = await fetchPage(after);
    const fresh = answer.snapshots.filter((s) => s.id > (all[all.length - 1]?.id ?? 0));
    all.push(...fresh);
    after = answer.nextAfter;
  }
  return all;
}

/** A horizontal line on the candle chart: the open position's entry, take-profit or stop-loss. */
export interface PriceLine {
  price: number;
  kind: 'entry' | 'tp' | 'sl';
  title: string;
}

export interface FillMarker {
  /** open time of the bar the fills fall in */
  ts: number;
  side: 'buy' | 'sell';
  /** how many fills of that side in that bar */
  count: number;
}

/** The open of the bar holding `ts` (greatest bar open not after it), or null outside the bars shown. */
function barOpenFor(ts: number, barTimes: readonly number[], lengthMs: number | null): number | null {
  const first = barTimes[0];
  const last = barTimes[barTimes.length - 1];
  if (first === undefined || last === undefined || ts < first) return null;
  if (lengthMs !== null && ts >= last + lengthMs) return null;
  let lo = 0;
  let hi = barTimes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (barTimes[mid]! <= ts) lo = mid;
    else hi = mid - 1;
  }
  return barTimes[lo]!;
}

/** Fills of one instrument → one marker per bar and side (with the count), ascending. */
export function toFillMarkers(fills: readonly { filledAt: string; side: string; instId: string }[], instId: string, candles: readonly CandlePoint[], lengthMs: number | null): FillMarker[] {
  const barTimes = candles.map((c) => c.ts);
  const byKey = new Map<string, FillMarker>();
  for (const fill of fills) {
    if (fill.instId !== instId || (fill.side !== 'buy' && fill.side !== 'sell')) continue;
    const at = parseTime(fill.filledAt);
    const ts = at === null ? null : barOpenFor(at, barTimes, lengthMs);
    if (ts === null) continue;
    const key = `${ts}:${fill.side}`;
    const marker = byKey.get(key) ?? { ts, side: fill.side, count: 0 };
    marker.count += 1;
    byKey.set(key, marker);
  }
  return [...byKey.values()].sort((a, b) => a.ts - b.ts || (a.side < b.side ? -1 : 1));
}

export interface GroupedRunMarker extends RunMarker {
  /** runs in the same bar with the same source and outcome, shown as one marker "V×3" */
  count: number;
}

/** Many runs in one bar stay readable: one marker per bar, source and outcome, with the count. */
export function groupRunMarkers(markers: readonly RunMarker[]): GroupedRunMarker[] {
  const groups = new Map<string, GroupedRunMarker>();
  for (const marker of markers) {
    const failed = marker.status === 'failed';
    const key = `${marker.ts}:${marker.source}:${failed}`;
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { ...marker, count: 1 });
  }
  return [...groups.values()].sort((a, b) => a.ts - b.ts);
}
