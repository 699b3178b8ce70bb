// @vitest-environment jsdom
// fetchSse and the client's error handling over a real socket: a small HTTP server streams events
// in awkward chunks, checks the bearer token, and answers errors the way the services do.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, onUnauthorized, setToken } from '../../../src/api/client.ts';
import { fetchSse } from '../../../src/api/sse-fetch.ts';

let server: http.Server;
let base = '';
const seen: { authorization?: string; lastEventId?: string; body?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, lastEventId: req.headers['last-event-id'] as string | undefined, body });
      if (req.headers.authorization !== 'Bearer secret-token') {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status_code: 401, detail: 'missing or wrong token' }));
        return;
      }
      if (req.url === '/refused') {
        res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status_code: 422, detail: 'refused', rule: 'max_order_pct', message: 'order is 40% of equity, limit 25%', limit: '25', actual: '40' }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      // chunks split mid-line, mid-CRLF and mid-UTF-8 character ("行" is 3 bytes)
      const text = Buffer.from(': hello\r\nretry: 1500\r\nid: 1\r\nevent: ticker\r\ndata: {"instId":"BTC-USDT-SWAP","last":"1"}\r\n\r\nevent: delta\r\ndata: {"text":"行情"}\r\n\r\n', 'utf8');
      const cuts = [3, 20, 21, 60, 97, text.indexOf(Buffer.from('行')) + 1, text.length - 1];
      let start = 0;
      let i = 0;
      const next = () => {
        if (i === cuts.length) {
          res.end(text.subarray(start));
          return;
        }
        res.write(text.subarray(start, cuts[i]));
        start = cuts[i]!;
        i += 1;
        setTimeout(next, 5);
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('fetchSse', () => {
  it('sends the bearer token and body, and decodes events split across chunks', async () => {
    setToken('secret-token');
    const events: [string, unknown][] = [];
    let opened = false;
    let activity = 0;
    const result = await fetchSse(`${base}/chat`, { method: 'POST', body: { message: 'hi' }, signal: new AbortController().signal, lastEventId: '0' }, {
      onOpen: () => (opened = true),
      onActivity: () => (activity += 1),
      onEvent: (name, payload) => events.push([name, payload]),
    });
    expect(opened).toBe(true);
    expect(activity).toBeGreaterThan(1);
    expect(events).toEqual([
      ['ticker', { instId: 'BTC-USDT-SWAP', last: '1' }],
      ['delta', { text: '行情' }],
    ]);
    expect(result).toEqual({ retryMs: 1500, lastEventId: '1' });
    expect(seen.at(-1)).toEqual({ authorization: 'Bearer secret-token', lastEventId: '0', body: '{"message":"hi"}' });
  });

  it('turns a 401 into ApiError and tells the app to sign in again', async () => {
    setToken('wrong');
    let signedOut = false;
    onUnauthorized(() => (signedOut = true));
    const error = await fetchSse(`${base}/stream`, { signal: new AbortController().signal }, { onEvent: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, message: 'missing or wrong token' });
    expect(signedOut).toBe(true);
    onUnauthorized(null);
  });

  it('carries a risk refusal with its numbers', async () => {
    setToken('secret-token');
    const error = await fetchSse(`${base}/refused`, { signal: new AbortController().signal }, { onEvent: () => undefined }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 422, message: 'order is 40% of equity, limit 25%', risk: { rule: 'max_order_pct', limit: '25', actual: '40' } });
  });
});
