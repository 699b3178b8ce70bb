// One connection to GET /api/stream for the whole app. Tickers go into a small store that components
// read through selectors (useTicker*), so a tick re-renders only what shows that price; the other
// events (run, trigger, balance, scheduler, approval, account, risk) invalidate the cached reads they make
// stale (api/query.ts) and are handed to whichever screen subscribed. When the stream drops or goes
// quiet the status turns `stale`, and it reconnects with backoff on its own, sending Last-Event-ID.
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { api, apiUrl, unwrap } from '../api/client.ts';
import { invalidateForEvent } from '../api/query.ts';
import { fetchSse } from '../api/sse-fetch.ts';
import type { StreamTicker } from '../api/types.ts';
import { reconnectDelayMs } from '../lib/sse.ts';
import { type TickerAction, type TickerState, initialTickerState, tickerReducer } from '../lib/tickers.ts';

export type StreamStatus = 'connecting' | 'live' | 'stale';
export type StreamEventName = 'run' | 'trigger' | 'balance' | 'scheduler' | 'ticker' | 'approval' | 'account' | 'risk';
const EVENT_NAMES: ReadonlySet<string> = new Set<StreamEventName>(['run', 'trigger', 'balance', 'scheduler', 'ticker', 'approval', 'account', 'risk']);
type Listener = (payload: unknown) => void;

/** No byte for this long (the API sends a heartbeat comment more often) → warn and reconnect. */
const QUIET_LIMIT_MS = 20_000;

/** The newest tickers, outside React state: subscribers re-render only when their selection changes. */
export class TickerStore {
  private state: TickerState = initialTickerState;
  private readonly listeners = new Set<() => void>();
  dispatch(action: TickerAction): void {
    const next = tickerReducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    this.listeners.forEach((listener) => listener());
  }
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  readonly getSnapshot = (): TickerState => this.state;
}

interface StreamContextValue {
  status: StreamStatus;
  subscribe: (name: StreamEventName, listener: Listener) => () => void;
}

const StreamContext = createContext<StreamContextValue | null>(null);
const TickerContext = createContext<TickerStore | null>(null);

export function StreamProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [store] = useState(() => new TickerStore());
  const [status, setStatus] = useState<StreamStatus>('connecting');
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
      unwrap(api.GET('/api/market/tickers'))
        .then((list) => store.dispatch({ type: 'snapshot', tickers: list, now: Date.now() }))
        .catch(() => undefined);

    void (async () => {
      let attempt = 0;
      while (!stopped) {
        controller = new AbortController();
        lastActivity = Date.now();
        try {
          void loadSnapshot(); // fill the gap since the last connection
          const result = await fetchSse(apiUrl('/api/stream'), { signal: controller.signal, lastEventId }, {
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
              if (raw.id) lastEventId = raw.id;
              if (!EVENT_NAMES.has(name)) return;
              if (name === 'ticker') store.dispatch({ type: 'ticker', ticker: payload as StreamTicker, now: Date.now() });
              else invalidateForEvent(queryClient, name);
              emit(name as StreamEventName, payload);
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
  }, [queryClient, store]);

  const subscribe = useCallback((name: StreamEventName, listener: Listener) => {
    const set = listeners.current.get(name) ?? new Set<Listener>();
    set.add(listener);
    listeners.current.set(name, set);
    return () => {
      set.delete(listener);
    };
  }, []);
  const value = useMemo<StreamContextValue>(() => ({ status, subscribe }), [status, subscribe]);
  return (
    <TickerContext.Provider value={store}>
      <StreamContext.Provider value={value}>{children}</StreamContext.Provider>
    </TickerContext.Provider>
  );
}

function useStreamContext(): StreamContextValue {
  const value = useContext(StreamContext);
  if (!value) throw new Error('stream hooks outside StreamProvider');
  return value;
}

/** The feed's state (connecting / live / stale): changes a few times a session, not per tick. */
export function useStreamStatus(): StreamStatus {
  return useStreamContext().status;
}

/**
 * A slice of the ticker state; the component re-renders only when the slice changes. The selector
 * must return a stable value (a string, a number, or an object of the state itself).
 */
export function useTickers<T>(select: (state: TickerState) => T): T {
  const store = useContext(TickerContext);
  if (!store) throw new Error('useTickers outside StreamProvider');
  return useSyncExternalStore(store.subscribe, () => select(store.getSnapshot()));
}

const selectAll = (state: TickerState) => state;
const selectOrder = (state: TickerState) => state.order;

/** Every ticker (the market strip): re-renders on each tick. */
export function useAllTickers(): TickerState {
  return useTickers(selectAll);
}

/** The instruments in the order first seen: changes only when one is added. */
export function useTickerOrder(): string[] {
  return useTickers(selectOrder);
}

/** The last price of one instrument (or null). */
export function useLastPrice(instId: string | null | undefined): string | null {
  return useTickers((state) => (instId ? state.byInstId[instId]?.ticker.last ?? null : null));
}

/** Calls `listener` for every `name` event while the component is mounted. */
export function useStreamEvent(name: StreamEventName, listener: Listener): void {
  const { subscribe } = useStreamContext();
  const ref = useRef(listener);
  useEffect(() => {
    ref.current = listener;
  });
  useEffect(() => subscribe(name, (payload) => ref.current(payload)), [subscribe, name]);
}
