// Server-Sent Events: eventsource-parser (the WHATWG "event stream interpretation" rules) fed the
// decoded text chunks as they arrive from fetch(); chunks may split a line anywhere. EventSource
// cannot send an Authorization header, so the app reads the streams with fetch and this parser.
import { createParser } from 'eventsource-parser';

export interface SseEvent {
  /** The `event:` field, "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` seen on the stream so far (it persists across events, per the spec). */
  id: string;
}

export interface SseParser {
  /** Feeds one chunk; returns the events completed by it, in order. */
  push(chunk: string): SseEvent[];
  /** The stream ended: an unterminated last event is discarded, as the spec says. */
  end(): SseEvent[];
  /** Reconnection delay from the last valid `retry:` field, or null. */
  readonly retryMs: number | null;
  readonly lastEventId: string;
}

export function createSseParser(): SseParser {
  let lastEventId = '';
  let retryMs: number | null = null;
  let completed: SseEvent[] = [];
  const parser = createParser({
    onEvent: (message) => {
      if (message.id !== undefined) lastEventId = message.id;
      completed.push({ event: message.event || 'message', data: message.data, id: lastEventId });
    },
    onRetry: (retry) => {
      retryMs = retry;
    },
  });
  const take = () => {
    const out = completed;
    completed = [];
    return out;
  };
  return {
    push: (chunk) => {
      parser.feed(chunk);
      return take();
    },
    end: () => {
      parser.reset({ consume: false }); // an unterminated last event is discarded
      take();
      return [];
    },
    get retryMs() {
      return retryMs;
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

/** Parses all of a complete stream text at once (tests and small bodies). */
export function parseSseText(text: string): SseEvent[] {
  const parser = createSseParser();
  return parser.push(text);
}

/**
 * Delay before reconnect attempt `attempt` (0-based): the server's `retry:` when given, else
 * exponential from `baseMs` capped at `maxMs`, with ±20 % jitter from `random` (0..1) so a
 * hundred browsers do not reconnect in the same millisecond.
 */
export function reconnectDelayMs(attempt: number, serverRetryMs: number | null, random: number, baseMs = 1000, maxMs = 30_000): number {
  const raw = serverRetryMs !== null && attempt === 0 ? serverRetryMs : Math.min(maxMs, Math.max(serverRetryMs ?? 0, baseMs * 2 ** Math.min(attempt, 20)));
  const jitter = 0.8 + 0.4 * Math.min(1, Math.max(0, random));
  return Math.round(Math.min(maxMs, raw) * jitter);
}

/**
 * Names the event by its SSE `event:` field, or — for servers that send every event as the
 * default "message" with a JSON `type` — by that field.
 */
export function eventName(event: SseEvent, payload: unknown): string {
  if (event.event !== 'message') return event.event;
  if (payload && typeof payload === 'object' && 'type' in payload && typeof (payload as { type: unknown }).type === 'string') {
    return (payload as { type: string }).type;
  }
  return 'message';
}

/** JSON.parse that answers undefined instead of throwing (a garbled event must not kill the stream). */
export function parseJsonData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
