// @vitest-environment jsdom
// Position TP/SL (interface 2) from the positions table, through the real client to the stand-in API:
// the body the API receives, an empty field removing that leg, off-tick prices caught before sending.
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setPositionTpsl } from '../../../src/api/client.ts';
import type { Position } from '../../../src/api/types.ts';
import { PositionsTable } from '../../../src/components/AccountTables.tsx';
import * as fx from '../support/fixtures.ts';
import { StandIn, renderApp } from '../support/stand-in.tsx';

const standIn = new StandIn()
  .on('GET /api/market/tickers', { body: [] })
  .on('POST /api/trade/position-tpsl', (_url, body) => {
    const sent = JSON.parse(body) as { instId: string; posSide: string; tpTriggerPx: string | null; slTriggerPx: string | null };
    return { body: { ...sent, algoIds: ['algo-1'] } };
  });
beforeAll(() => standIn.start());
afterAll(() => standIn.stop());
afterEach(cleanup);

const position: Position = {
  instId: fx.BTC, mgnMode: 'cross', posSide: 'net', posId: 'p1', pos: '1', avgPx: '65000', markPx: '65100', upl: '1', uplRatio: '0.01', lever: '3',
  liqPx: '40000', notionalUsd: '651', realizedPnl: '0', tpTriggerPx: '70000', slTriggerPx: null, recordId: 1, openedAt: '2026-12-01T10:00:00Z',
};
const byId = Object.fromEntries(fx.instruments.map((i) => [i.instId, i]));

describe('position TP/SL', () => {
  it('sends the new stop, removes the cleared take-profit, refuses an off-tick price', async () => {
    renderApp(
      <PositionsTable positions={[position]} instruments={byId} onClose={async () => undefined}
        onSetTpsl={(p, tp, sl) => setPositionTpsl({ instId: p.instId, posSide: 'net', tpTriggerPx: tp, slTriggerPx: sl })} />,
    );
    fireEvent.click(screen.getByTestId('edit-tpsl'));
    const tp = screen.getByRole('textbox', { name: 'Take-profit trigger' });
    const sl = screen.getByRole('textbox', { name: 'Stop-loss trigger' });
    expect((tp as HTMLInputElement).value).toBe('70000');
    fireEvent.change(sl, { target: { value: '63000.05' } });
    expect(screen.getByText('Price must be a multiple of the tick size 0.1.')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Set' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(sl, { target: { value: '63000' } });
    fireEvent.change(tp, { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set' }));
    await waitFor(() => expect(screen.queryByTestId('tpsl-form')).toBeNull());
    const sent = standIn.requests('/api/trade/position-tpsl');
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toEqual({ instId: fx.BTC, posSide: 'net', tpTriggerPx: null, slTriggerPx: '63000' });
    expect(sent[0]!.authorization).toBe('Bearer stand-in-token');
  });
});
