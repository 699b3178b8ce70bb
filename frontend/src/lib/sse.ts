// Server-Sent Events parser following the WHATWG "event stream interpretation" rules. It is fed
// decoded text chunks as they arrive from fetch(); chunks may split a line anywhere (even between
// the CR and LF of a CRLF). EventSource cannot send an Authorization header, so the app reads the
// streams with fetch and this parser.

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
  let buffer = '';
  let atStreamStart = true;
  let pendingCr = false; // the previous chunk ended with CR: a leading LF of the next one belongs to it
  let eventType = '';
  let dataLines: string[] = [];
  let hasData = false;
  let lastEventId = '';
  let retryMs: number | null = null;

  function processLine(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (hasData) {
        out.push({ event: eventType || 'message', data: dataLines.join('\n'), id: lastEventId });
      }
      eventType = '';
      dataLines = [];
      hasData = false;
      return;
    }
    if (line.startsWith(':')) return; // comment (servers use them as heartbeats)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        dataLines.push(value);
        hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  function push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    if (chunk === '') return out; // keeps a pending CR for the next real chunk
    let text = chunk;
    if (pendingCr && text.startsWith('\n')) text = text.slice(1);
    pendingCr = false;
    if (atStreamStart && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      atStreamStart = false;
    }
    buffer += text;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      processLine(buffer.slice(start, i), out);
      if (ch === '\r') {
        if (i + 1 < buffer.length) {
          if (buffer[i + 1] === '\n') i += 1;
        } else {
          pendingCr = true;
        }
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
    return out;
  }

  return {
    push,
    end: () => {
      buffer = '';
      eventType = '';
      dataLines = [];
      hasData = false;
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
