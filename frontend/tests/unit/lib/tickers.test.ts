import { describe, expect, it } from 'vitest';
import { initialTickerState, tickerReducer } from '../../../src/lib/tickers.ts';
import type { StreamTicker } from '../../../src/api/types.ts';

const tick = (instId: string, last: string, ts: number): StreamTicker => ({ instId, last, open24h: '100', ts: String(ts) });

describe('ticker state', () => {
  it('keeps the configured order from the snapshot and adds new instruments at the end', () => {
    let state = tickerReducer(initialTickerState, { type: 'snapshot', tickers: [tick('BTC-USDT-SWAP', '100', 1), tick('ETH-USDT-SWAP', '10', 1)], now: 5 });
    state = tickerReducer(state, { type: 'ticker', ticker: tick('SOL-USDT-SWAP', '1', 2), now: 6 });
    state = tickerReducer(state, { type: 'ticker', ticker: tick('BTC-USDT-SWAP', '101', 2), now: 7 });
    expect(state.order).toEqual(['BTC-USDT-SWAP', 'ETH-USDT-SWAP', 'SOL-USDT-SWAP']);
    expect(state.byInstId['BTC-USDT-SWAP']).toMatchObject({ direction: 1, receivedAt: 7, ticker: { last: '101' } });
  });

  it('marks the direction of the last move and keeps it while the price is unchanged', () => {
    let state = tickerReducer(initialTickerState, { type: 'ticker', ticker: tick('X', '100', 1), now: 1 });
    expect(state.byInstId.X!.direction).toBe(0);
    state = tickerReducer(state, { type: 'ticker', ticker: tick('X', '99.5', 2), now: 2 });
    expect(state.byInstId.X!.direction).toBe(-1);
    state = tickerReducer(state, { type: 'ticker', ticker: tick('X', '99.50', 3), now: 3 });
    expect(state.byInstId.X!.direction).toBe(-1);
  });

  it('ignores events older than what it shows, and malformed ones', () => {
    let state = tickerReducer(initialTickerState, { type: 'ticker', ticker: tick('X', '100', 10), now: 1 });
    const before = state;
    state = tickerReducer(state, { type: 'ticker', ticker: tick('X', '90', 9), now: 2 });
    expect(state).toBe(before);
    state = tickerReducer(state, { type: 'ticker', ticker: { instId: 'X', last: 'n/a', open24h: '1', ts: '11' }, now: 3 });
    expect(state).toBe(before);
    state = tickerReducer(state, { type: 'ticker', ticker: null as unknown as StreamTicker, now: 3 });
    expect(state).toBe(before);
  });

  it('keeps what the REST snapshot said (the bar) when a stream event without it arrives', () => {
    let state = tickerReducer(initialTickerState, { type: 'snapshot', tickers: [{ ...tick('X', '100', 1), bar: '3m' }], now: 1 });
    state = tickerReducer(state, { type: 'ticker', ticker: { ...tick('X', '101', 2), source: 'ws' }, now: 2 });
    expect(state.byInstId.X!.ticker).toMatchObject({ last: '101', bar: '3m', source: 'ws' });
  });
});
