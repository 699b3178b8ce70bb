// A stand-in of the trading API on a real socket for the component tests: canned JSON per route (typed
// with the generated schema types by the tests), every request recorded, and an SSE stream the test
// pushes events into. The app under test talks to it through its real clients (openapi-fetch, fetchSse).
import { configure, render } from '@testing-library/react';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReactNode } from 'react';
import { QueryClientProvider } from '@tanstack/react-query';
import { setApiOrigin, setToken } from '../../../src/api/client.ts';
import { createQueryClient } from '../../../src/api/query.ts';
import { StreamProvider } from '../../../src/hooks/stream.tsx';
import { I18nProvider } from '../../../src/i18n.tsx';

// the machine running the suite may be busy (two cores shared): give the screens time, not a race
configure({ asyncUtilTimeout: 10_000 });

export interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string | undefined;
}

/** JSON (`body`), or a finished Server-Sent Events answer (`sse`: the events in order). */
type Reply = { status?: number; body: unknown } | { sse: { event: string; data: unknown }[] };
type Answer = Reply | ((url: URL, body: string) => Reply);

export class StandIn {
  readonly seen: Seen[] = [];
  private readonly routes = new Map<string, Answer>();
  private readonly streams = new Set<http.ServerResponse>();
  private server: http.Server | null = null;
  base = '';

  /** `GET /api/x` → answer (the path without its query string). */
  on(route: string, answer: Answer): this {
    this.routes.set(route, answer);
    return this;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://stand-in');
        this.seen.push({ method: req.method ?? 'GET', url: url.pathname + url.search, body, authorization: req.headers.authorization });
        if (url.pathname === '/api/stream') {
          res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
          res.write(': open\n\n');
          this.streams.add(res);
          res.on('close', () => this.streams.delete(res));
          return;
        }
        const found = this.routes.get(`${req.method} ${url.pathname}`);
        const answer = typeof found === 'function' ? found(url, body) : found;
        if (!answer) {
          res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status_code: 404, detail: `stand-in has no ${req.method} ${url.pathname}` }));
          return;
        }
        if ('sse' in answer) {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.end(answer.sse.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join(''));
          return;
        }
        res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    setApiOrigin(this.base);
  }

  /** Sends one SSE event to every open stream. */
  push(event: string, data: unknown, id?: string): void {
    for (const res of this.streams) res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  requests(pathname: string): Seen[] {
    return this.seen.filter((s) => s.url.split('?')[0] === pathname);
  }

  async stop(): Promise<void> {
    for (const res of this.streams) res.end();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** Renders `ui` signed in, with the app's providers (language `lang`, a fresh query cache, the stream). */
export function renderApp(ui: ReactNode, { lang = 'en', stream = true }: { lang?: 'en' | 'zh'; stream?: boolean } = {}) {
  localStorage.setItem('aitrader.lang', lang);
  setToken('stand-in-token');
  const client = createQueryClient();
  return render(
    <I18nProvider>
      <QueryClientProvider client={client}>{stream ? <StreamProvider>{ui}</StreamProvider> : ui}</QueryClientProvider>
    </I18nProvider>,
  );
}
