// Reads a Server-Sent Events response with fetch (so the bearer token can be sent) and hands each
// decoded event to `onEvent`. Resolves when the stream ends; rejects with ApiError on a non-2xx answer.
import { authHeaders, ensureOk } from './client.ts';
import { type SseEvent, createSseParser, eventName, parseJsonData } from '../lib/sse.ts';

export interface SseHandlers {
  onOpen?: () => void;
  /** every chunk received (comments/heartbeats included): the feed is alive */
  onActivity?: () => void;
  onEvent: (name: string, payload: unknown, raw: SseEvent) => void;
}

export interface SseResult {
  retryMs: number | null;
  lastEventId: string;
}

export async function fetchSse(url: string, init: { method?: 'GET' | 'POST'; body?: unknown; signal: AbortSignal; lastEventId?: string }, handlers: SseHandlers): Promise<SseResult> {
  const headers = authHeaders({ Accept: 'text/event-stream', ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) });
  if (init.lastEventId) headers['Last-Event-ID'] = init.lastEventId;
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    signal: init.signal,
    cache: 'no-store',
  });
  await ensureOk(response);
  handlers.onOpen?.();
  const parser = createSseParser();
  const dispatch = (events: SseEvent[]) => {
    for (const event of events) {
      const payload = parseJsonData(event.data);
      handlers.onEvent(eventName(event, payload), payload === undefined ? event.data : payload, event);
    }
  };
  if (!response.body) {
    dispatch(parser.push(await response.text()));
    return { retryMs: parser.retryMs, lastEventId: parser.lastEventId };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      handlers.onActivity?.();
      dispatch(parser.push(value));
    }
  } finally {
    reader.releaseLock();
  }
  dispatch(parser.end());
  return { retryMs: parser.retryMs, lastEventId: parser.lastEventId };
}
