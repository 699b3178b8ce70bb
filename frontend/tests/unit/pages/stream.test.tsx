// @vitest-environment jsdom
// A ticker re-renders only what shows that price: the shell (feed status) does not re-render per tick
// (the old provider put tickers and an unused `lastEventAt` in one context value, so every tick
// re-rendered the whole app). Over a real socket, with the real StreamProvider and fetchSse.
import { cleanup, screen, waitFor } from '@testing-library/react';
import { useEffect } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useLastPrice, useStreamStatus } from '../../../src/hooks/stream.tsx';
import { StandIn, renderApp } from '../support/stand-in.tsx';

const standIn = new StandIn().on('GET /api/market/tickers', { body: [] });
beforeAll(() => standIn.start());
afterAll(() => standIn.stop());
afterEach(cleanup);

// an effect without dependencies runs after every committed render: it counts the re-renders
const renders = { shell: 0, price: 0 };
function ShellProbe() {
  useEffect(() => {
    renders.shell += 1;
  });
  return <span data-testid="status">{useStreamStatus()}</span>;
}
function PriceProbe() {
  useEffect(() => {
    renders.price += 1;
  });
  return <span data-testid="price">{useLastPrice('BTC-USDT-SWAP') ?? '—'}</span>;
}

describe('the stream provider', () => {
  it('41 ticks re-render the price, never the feed status (fails with the old lastEventAt in the context)', async () => {
    renderApp(<><ShellProbe /><PriceProbe /></>);
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('live'));
    await waitFor(() => expect(standIn.openStreams).toBe(1));
    const shellBefore = renders.shell;
    for (let i = 1; i <= 40; i += 1) standIn.push('ticker', { instId: 'BTC-USDT-SWAP', last: String(60000 + i), ts: String(1_700_000_000_000 + i) }, String(i));
    await waitFor(() => expect(screen.getByTestId('price').textContent).toBe('60040'));
    // unrelated instrument: the BTC price probe does not re-render for it
    const priceBefore = renders.price;
    standIn.push('ticker', { instId: 'ETH-USDT-SWAP', last: '3000', ts: String(1_700_000_000_100) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(renders.price).toBe(priceBefore);
    expect(renders.shell - shellBefore).toBe(0);
    expect(renders.price).toBeGreaterThan(1);
  });
});
