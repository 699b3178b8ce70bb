import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSseParser, eventName, parseJsonData, parseSseText, reconnectDelayMs, type SseEvent } from '../../../src/lib/sse.ts';

function feedInPieces(text: string, cuts: number[]): SseEvent[] {
  const parser = createSseParser();
  const events: SseEvent[] = [];
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    events.push(...parser.push(text.slice(start, cut)));
    start = cut;
  }
  events.push(...parser.push(text.slice(start)));
  return events;
}

describe('SSE parser', () => {
  it('reads named events with JSON data', () => {
    const events = parseSseText('event: ticker\ndata: {"instId":"BTC-USDT-SWAP","last":"31807.4"}\n\n');
    expect(events).toEqual([{ event: 'ticker', data: '{"instId":"BTC-USDT-SWAP","last":"31807.4"}', id: '' }]);
  });

  it('joins multi-line data with newlines and defaults the type to message', () => {
    expect(parseSseText('data: first\ndata: second\n\n')).toEqual([{ event: 'message', data: 'first\nsecond', id: '' }]);
    expect(parseSseText('data\n\n')).toEqual([{ event: 'message', data: '', id: '' }]);
    expect(parseSseText('data:no-space\n\n')[0]!.data).toBe('no-space');
    expect(parseSseText('data:  two spaces\n\n')[0]!.data).toBe(' two spaces');
  });

  it('ignores comments, unknown fields and events without data', () => {
    expect(parseSseText(': ping\n\n:another\nfoo: bar\n\nevent: run\n\n')).toEqual([]);
    expect(parseSseText(': keep-alive\nevent: run\ndata: 1\n\n')).toEqual([{ event: 'run', data: '1', id: '' }]);
  });

  it('keeps the last event id and the retry delay', () => {
    const parser = createSseParser();
    const events = parser.push('id: 7\nretry: 2500\ndata: a\n\ndata: b\n\nretry: soon\nid: 8\0\n\n');
    expect(events.map((e) => [e.data, e.id])).toEqual([['a', '7'], ['b', '7']]);
    expect(parser.retryMs).toBe(2500); // "soon" is not a number: ignored
    expect(parser.lastEventId).toBe('7'); // an id with NUL is ignored
  });

  it('accepts CRLF, CR and LF line ends, and a leading BOM', () => {
    const expected = [{ event: 'e', data: 'x\ny', id: '' }];
    expect(parseSseText('event: e\r\ndata: x\r\ndata: y\r\n\r\n')).toEqual(expected);
    expect(parseSseText('event: e\rdata: x\rdata: y\r\r')).toEqual(expected);
    expect(parseSseText('\uFEFFevent: e\ndata: x\ndata: y\n\n')).toEqual(expected);
  });

  it('handles a CRLF split between two chunks as one line end', () => {
    const parser = createSseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('')).toEqual([]); // an empty read does not forget the CR
    expect(parser.push('\n\r')).toEqual([{ event: 'message', data: 'a', id: '' }]);
    expect(parser.push('\ndata: b\n\n')).toEqual([{ event: 'message', data: 'b', id: '' }]);
  });

  it('waits for the blank line: a chunk ending mid-line or mid-event emits nothing yet', () => {
    const parser = createSseParser();
    expect(parser.push('event: tick')).toEqual([]);
    expect(parser.push('er\ndata: {"la')).toEqual([]);
    expect(parser.push('st":"1"}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'ticker', data: '{"last":"1"}', id: '' }]);
    expect(parser.push('data: unfinished\n')).toEqual([]);
    expect(parser.end()).toEqual([]); // an unterminated event is dropped
  });

  const field = fc.constantFrom('event: ticker', 'event: run', 'data: {"a":1}', 'data: 第二行', 'data:', 'id: 42', ': ping', 'retry: 1000', 'x: y');
  const block = fc.array(field, { minLength: 0, maxLength: 5 }).map((lines) => lines.join('\n') + '\n\n');
  const stream = fc.tuple(fc.array(block, { maxLength: 8 }), fc.constantFrom('\n', '\r\n', '\r')).map(([blocks, eol]) => blocks.join('').replace(/\n/g, eol));

  it('gives the same events however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (text, rawCuts) => {
        const cuts = rawCuts.map((c) => (text.length ? c % (text.length + 1) : 0));
        expect(feedInPieces(text, cuts)).toEqual(parseSseText(text));
      }),
    );
  });

  it('names an event by its field, or by a JSON type for servers that send only data', () => {
    expect(eventName({ event: 'delta', data: '', id: '' }, { type: 'x' })).toBe('delta');
    expect(eventName({ event: 'message', data: '', id: '' }, { type: 'tool_call' })).toBe('tool_call');
    expect(eventName({ event: 'message', data: '', id: '' }, 'text')).toBe('message');
    expect(parseJsonData('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonData('{broken')).toBeUndefined();
  });
});

describe('reconnect delay', () => {
  it('uses the server retry first, then backs off exponentially with jitter, capped', () => {
    expect(reconnectDelayMs(0, 3000, 0.5)).toBe(3000);
    expect(reconnectDelayMs(0, null, 0.5)).toBe(1000);
    expect(reconnectDelayMs(3, null, 0.5)).toBe(8000);
    expect(reconnectDelayMs(30, null, 0.5)).toBe(30_000);
    expect(reconnectDelayMs(1, null, 0)).toBe(1600);
    expect(reconnectDelayMs(1, null, 1)).toBe(2400);
  });

  it('always stays within ±20 % of a capped delay', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100 }), fc.option(fc.nat({ max: 120_000 })), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, retry, random) => {
        const delay = reconnectDelayMs(attempt, retry, random);
        return delay >= 0 && delay <= 36_000;
      }),
    );
  });
});
