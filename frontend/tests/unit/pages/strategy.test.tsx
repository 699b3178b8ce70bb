// @vitest-environment jsdom
// The strategy page against the stand-in API: the run history shows a signed deviation, a decision
// column (a dash for runs recorded before decisions existed), filters, the run detail with decision and
// the order's fill price and approval outcome, and it reads in Chinese too.
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Strategy } from '../../../src/pages/Strategy.tsx';
import * as fx from '../support/fixtures.ts';
import { StandIn, renderApp } from '../support/stand-in.tsx';

const standIn = new StandIn()
  .on('GET /api/market/tickers', { body: [] })
  .on('GET /api/market/instruments', { body: fx.instruments })
  .on('GET /api/scheduler/status', { body: fx.scheduler })
  .on('GET /api/model/strategy-runs', { body: fx.runs })
  .on('GET /api/trade/approvals', { body: { approvals: fx.approvals } })
  .on('GET /api/trade/risk', { body: fx.risk });
beforeAll(() => standIn.start());
afterAll(() => standIn.stop());
afterEach(cleanup);

describe('strategy page', () => {
  it('run history: signed deviation, decision (or a dash), all columns labelled for the phone layout', async () => {
    renderApp(<Strategy />);
    const rows = await screen.findAllByTestId('run-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByTestId('run-deviation').textContent).toBe('-32.7 bp');
    expect(within(rows[1]!).getByTestId('run-deviation').textContent).toBe('+33.3 bp');
    expect(within(rows[0]!).getByTestId('decision-tag').textContent).toBe('open short · 72%');
    expect(within(rows[1]!).queryByTestId('decision-tag')).toBeNull();
    // every cell names its column: on a phone the row becomes a card showing all of them
    const labels = [...rows[0]!.querySelectorAll('td')].map((td) => td.getAttribute('data-label'));
    expect(labels).toEqual(['Time', 'Instrument', 'Source', 'Decision', 'Trigger price', 'Baseline', 'Deviation', 'Status', 'Duration', 'Cost']);
  });

  it('filters by decision and by status', async () => {
    renderApp(<Strategy />);
    await screen.findAllByTestId('run-row');
    fireEvent.change(screen.getByRole('combobox', { name: 'Decision' }), { target: { value: 'open_short' } });
    await waitFor(() => expect(screen.getAllByTestId('run-row')).toHaveLength(1));
    fireEvent.change(screen.getByRole('combobox', { name: 'Decision' }), { target: { value: '' } });
    fireEvent.change(screen.getByRole('combobox', { name: 'Status' }), { target: { value: 'failed' } });
    await waitFor(() => expect(screen.getAllByTestId('run-row')).toHaveLength(1));
    expect(screen.getByTestId('run-row').textContent).toContain(fx.ETH);
  });

  it('run detail shows the decision, the order with its fill price, approval outcome and origin', async () => {
    renderApp(<Strategy />);
    const rows = await screen.findAllByTestId('run-row');
    fireEvent.click(rows[0]!);
    const detail = await screen.findByTestId('run-detail');
    const decision = within(detail).getByTestId('run-decision');
    expect(decision.textContent).toContain('open short');
    expect(decision.textContent).toContain('65,500.0'); // stop at the tick precision
    expect(decision.textContent).toContain('close above 65,500');
    expect(detail.textContent).toContain('64,970.1'); // fill price
    expect(within(detail).getByTestId('run-order-approval').textContent).toBe('approved');
    expect(within(detail).getByTestId('origin').textContent).toBe('AI analysis');
    expect(detail.textContent).toContain('deepseek / deepseek-chat');
  });

  it('a run without the new fields opens without a decision section', async () => {
    renderApp(<Strategy />);
    const rows = await screen.findAllByTestId('run-row');
    fireEvent.click(rows[1]!);
    const detail = await screen.findByTestId('run-detail');
    expect(within(detail).queryByTestId('run-decision')).toBeNull();
    expect(detail.textContent).toContain('agent unreachable');
  });

  it('pending approvals list price, leverage, TP/SL, origin and reason; approve posts to the API', async () => {
    let approved = 0;
    standIn.on('POST /api/trade/approvals/7/approve', () => {
      approved += 1;
      return { status: 201, body: { approval: { ...fx.approvals[0], status: 'approved' } } };
    });
    renderApp(<Strategy />);
    const row = await screen.findByTestId('approval-row');
    await waitFor(() => expect(row.textContent).toContain('65,000.0')); // at the tick precision once the specs are in
    expect(row.textContent).toContain('325.00 USDT'); // notional: 0.5 contracts × 0.01 BTC × 65,000
    expect(row.textContent).toContain('3×');
    expect(row.textContent).toContain('63,000.0 / 65,500.0');
    expect(row.textContent).toContain('Breakdown below the range.');
    expect(within(row).getByTestId('origin').textContent).toBe('AI analysis');
    fireEvent.click(within(row).getByRole('button', { name: 'Approve' }));
    await waitFor(() => expect(approved).toBe(1));
    expect(standIn.requests('/api/trade/approvals/7/approve')[0]!.authorization).toBe('Bearer stand-in-token');
  });

  it('reads in Chinese', async () => {
    renderApp(<Strategy />, { lang: 'zh' });
    const rows = await screen.findAllByTestId('run-row');
    expect(within(rows[0]!).getByTestId('decision-tag').textContent).toBe('开空 · 72%');
    expect(screen.getByText('运行历史')).toBeTruthy();
  });
});
