// One connection to GET /api/stream for the whole app. Tickers go into a reducer; the other events
// (run, trigger, balance, scheduler) are handed to whichever screen subscribed. When the stream
// drops or goes quiet the status turns `stale`, and it reconnects with backoff on its own.
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { fetchSse } from '../api/sse-fetch.ts';
import type { StreamTicker } from '../api/types.ts';
import { reconnectDelayMs } from '../lib/sse.ts';
import { type TickerState, initialTickerState, tickerReducer } from '../lib/tickers.ts';

export type StreamStatus = 'connecting' | 'live' | 'stale';
export type StreamEventName = 'run' | 'trigger' | 'balance' | 'scheduler' | 'ticker';
type Listener = (payload: unknown) => void;

/** No byte for this long (the API sends a heartbeat comment more often) → warn and reconnect. */
const QUIET_LIMIT_MS = 20_000;

interface StreamContextValue {
  status: StreamStatus;
  tickers: TickerState;
  lastEventAt: number | null;
  subscribe: (name: StreamEventName, listener: Listener) => () => void;
}

const StreamContext = createContext<StreamContextValue | null>(null);

export function StreamProvider({ children }: { children: ReactNode }) {
  const [tickers, dispatch] = useReducer(tickerReducer, initialTickerState);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [lastEventAt, setLastEventAt] = useState<number | null>(null);
  const listeners = useRef(new Map<StreamEventName, Set<Listener>>());

  useEffect(() => {
    let stopped = false;
    let controller: AbortController | null = null;
    let lastActivity = Date.now();
    let everConnected = false;
    let serverRetry: number | null = null;
    let lastEventId = '';

    const emit = (name: StreamEventName, payload: unknown) => {
      listeners.current.get(name)?.forEach((listener) => listener(payload));
    };

    const watchdog = setInterval(() => {
      if (controller && Date.now() - lastActivity > QUIET_LIMIT_MS) {
        setStatus('stale');
        controller.abort(); // the loop reconnects
      }
    }, 2000);

    const loadSnapshot = () =>
      api
        .get('/api/market/tickers')
        .then((list) => dispatch({ type: 'snapshot', tickers: list, now: Date.now() }))
        .catch(() => undefined);

    (async () => {
      let attempt = 0;
      while (!stopped) {
        controller = new AbortController();
        lastActivity = Date.now();
        try {
          void loadSnapshot(); // fill the gap since the last connection
          const result = await fetchSse(api.url('/api/stream'), { signal: controller.signal, lastEventId }, {
            onOpen: () => {
              everConnected = true;
              attempt = 0;
              lastActivity = Date.now();
              setStatus('live');
            },
            onActivity: () => {
              lastActivity = Date.now();
            },
            onEvent: (name, payload, raw) => {
              lastEventId = raw.id;
              setLastEventAt(Date.now());
              if (name === 'ticker') dispatch({ type: 'ticker', ticker: payload as StreamTicker, now: Date.now() });
              if (name === 'ticker' || name === 'run' || name === 'trigger' || name === 'balance' || name === 'scheduler') emit(name, payload);
            },
          });
          serverRetry = result.retryMs;
        } catch (error) {
          if ((error as { status?: number }).status === 401) return; // signed out by the client
        }
        if (stopped) break;
        setStatus(everConnected ? 'stale' : 'connecting');
        const delay = reconnectDelayMs(attempt, serverRetry, Math.random());
        attempt += 1;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    })();

    return () => {
      stopped = true;
      clearInterval(watchdog);
      controller?.abort();
    };
  }, []);

  const subscribe = useCallback((name: StreamEventName, listener: Listener) => {
    const set = listeners.current.get(name) ?? new Set<Listener>();
    set.add(listener);
    listeners.current.set(name, set);
    return () => {
      set.delete(listener);
    };
  }, []);
  const value = useMemo<StreamContextValue>(() => ({ status, tickers, lastEventAt, subscribe }), [status, tickers, lastEventAt, subscribe]);
  return <StreamContext.Provider value={value}>{children}</StreamContext.Provider>;
}

export function useStream(): StreamContextValue {
  const value = useContext(StreamContext);
  if (!value) throw new Error('useStream outside StreamProvider');
  return value;
}

/** Calls `listener` for every `name` event while the component is mounted. */
export function useStreamEvent(name: StreamEventName, listener: Listener): void {
  const { subscribe } = useStream();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => subscribe(name, (payload) => ref.current(payload)), [subscribe, name]);
}
