// Live market strip state: the newest ticker per instrument, fed by the initial GET and the SSE
// `ticker` events. Out-of-order events (older `ts`) are ignored so the strip never steps back.
// A stream event carries fewer fields than the REST ticker (no `bar`): it is merged onto the
// previous entry so what the snapshot said stays known.
import type { StreamTicker, Ticker } from '../api/types.ts';
import { compare, parseDecimal } from './decimal.ts';
import { parseTime } from './format.ts';

/** What the strip knows of an instrument: REST ticker fields merged with later stream events. */
export type LiveTicker = Pick<Ticker, 'instId' | 'last' | 'ts'> & Partial<Omit<Ticker, 'instId' | 'last' | 'ts'>>;

export interface TickerEntry {
  ticker: LiveTicker;
  /** -1 last move down, 1 up, 0 unchanged / first */
  direction: -1 | 0 | 1;
  /** browser time the entry last changed (for flashes and staleness) */
  receivedAt: number;
}

export interface TickerState {
  byInstId: Record<string, TickerEntry>;
  /** instruments in the order first seen (the configured order from the initial GET) */
  order: string[];
}

export type TickerAction =
  | { type: 'snapshot'; tickers: readonly (Ticker | StreamTicker)[]; now: number }
  | { type: 'ticker'; ticker: Ticker | StreamTicker; now: number };

export const initialTickerState: TickerState = { byInstId: {}, order: [] };

function applyOne(state: TickerState, ticker: Ticker | StreamTicker, now: number): TickerState {
  if (!ticker || typeof ticker.instId !== 'string' || !parseDecimal(ticker.last)) return state;
  const previous = state.byInstId[ticker.instId];
  if (previous) {
    const oldTs = parseTime(previous.ticker.ts);
    const newTs = parseTime(ticker.ts);
    if (oldTs !== null && newTs !== null && newTs < oldTs) return state;
  }
  const oldLast = previous ? parseDecimal(previous.ticker.last) : null;
  const newLast = parseDecimal(ticker.last)!;
  const moved = oldLast ? compare(newLast, oldLast) : 0;
  const direction = moved === 0 && previous ? previous.direction : moved;
  return {
    byInstId: { ...state.byInstId, [ticker.instId]: { ticker: { ...previous?.ticker, ...ticker }, direction, receivedAt: now } },
    order: previous ? state.order : [...state.order, ticker.instId],
  };
}

export function tickerReducer(state: TickerState, action: TickerAction): TickerState {
  switch (action.type) {
    case 'snapshot':
      return action.tickers.reduce((acc, ticker) => applyOne(acc, ticker, action.now), state);
    case 'ticker':
      return applyOne(state, action.ticker, action.now);
    default:
      return state;
  }
}
