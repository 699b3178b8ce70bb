// @vitest-environment jsdom
// The performance page, the approvals badge, the order form and the first sign-in, against the
// stand-in API over a real socket.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../../src/App.tsx';
import { setToken } from '../../../src/api/client.ts';
import { ApprovalsBadge } from '../../../src/components/Approvals.tsx';
import { I18nProvider } from '../../../src/i18n.tsx';
import { Performance } from '../../../src/pages/Performance.tsx';
import { Trade } from '../../../src/pages/Trade.tsx';
import * as fx from '../support/fixtures.ts';
import { StandIn, renderApp } from '../support/stand-in.tsx';

const now = Date.now();
const standIn = new StandIn()
  .on('GET /api/market/tickers', { body: [] })
  .on('GET /api/market/instruments', { body: fx.instruments })
  .on('GET /api/account/positions/history', { body: { positions: fx.closedPositions(now) } })
  .on('GET /api/account/fills', { body: { fills: fx.fills(now) } })
  .on('GET /api/account/orders', { body: { orders: fx.noOrders } })
  .on('GET /api/account/initial-equity', { body: { amount: '10000', setAt: null, source: null } })
  .on('GET /api/account/balances/snapshots', { body: { snapshots: [], nextAfter: null, initialEquity: { amount: '10000', setAt: null, source: null } } })
  .on('GET /api/trade/approvals', { body: { approvals: fx.approvals } })
  .on('GET /api/trade/risk', { body: fx.risk })
  .on('GET /api/trade/risk/refusals', { body: { refusals: [] } });
beforeAll(() => standIn.start());
afterAll(() => standIn.stop());
afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

describe('performance page', () => {
  it('statistics of the chosen period: 7 days by default, all on demand', async () => {
    renderApp(<Performance />);
    await waitFor(() => expect(screen.getByTestId('perf-trades').textContent).toBe('3'));
    expect(screen.getByTestId('perf-pnl').textContent).toBe('+40.00 USDT');
    expect(screen.getByTestId('perf-winrate').textContent).toBe('66.7%');
    expect(screen.getByTestId('perf-pf').textContent).toBe('5.00');
    const origins = await screen.findByTestId('perf-origins');
    expect(origins.textContent).toContain('AI analysis');
    expect(origins.textContent).toContain('AI chat');
    expect(origins.textContent).toContain('Manual');
    expect(screen.getAllByTestId('closed-row')).toHaveLength(3);
    fireEvent.click(screen.getByRole('button', { name: 'All' }));
    await waitFor(() => expect(screen.getByTestId('perf-trades').textContent).toBe('4'));
    expect(screen.getByTestId('perf-pnl').textContent).toBe('-60.00 USDT');
    expect((screen.getByTestId('export-csv') as HTMLButtonElement).disabled).toBe(false);
  });

  it('in Chinese', async () => {
    renderApp(<Performance />, { lang: 'zh' });
    await waitFor(() => expect(screen.getByTestId('perf-trades').textContent).toBe('3'));
    expect(screen.getByText('胜率')).toBeTruthy();
    expect(screen.getByText('导出 CSV')).toBeTruthy();
  });
});

describe('approvals badge', () => {
  it('shows the pending count on any page and opens the list', async () => {
    renderApp(<ApprovalsBadge />);
    const badge = await screen.findByTestId('approvals-badge');
    expect(badge.textContent).toBe('1 awaiting approval');
    fireEvent.click(badge);
    const panel = await screen.findByTestId('approvals-panel');
    expect(within(panel).getByTestId('approval-row').textContent).toContain('Breakdown below the range.');
  });
});

describe('order form', () => {
  it('leverage placeholder is the guard’s maximum, off-tick prices are caught before submit, margin is estimated', async () => {
    renderApp(<Trade />);
    const leverage = (await screen.findByRole('textbox', { name: /Leverage/ })) as HTMLInputElement;
    await waitFor(() => expect(leverage.placeholder).toBe('≤ 20'));
    fireEvent.click(screen.getByRole('button', { name: 'Limit' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Limit price' }), { target: { value: '65000.05' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Size' }), { target: { value: '1' } });
    expect(screen.getByTestId('order-form-error').textContent).toBe('Price must be a multiple of the tick size 0.1.');
    expect((screen.getByTestId('place-order') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByRole('textbox', { name: 'Limit price' }), { target: { value: '65000' } });
    fireEvent.change(leverage, { target: { value: '5' } });
    expect(screen.getByTestId('order-preview').textContent).toContain('≈ 1 contract ≈ 650.00 USDT · margin ≈ 130.00 USDT at 5×');
    expect((screen.getByTestId('place-order') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('risk-panel').textContent).toContain('20×');
  });
});

describe('first sign-in', () => {
  it('a wrong token says the token was refused, not that a session ended', async () => {
    standIn.on('GET /api/market/tickers', { status: 401, body: { status_code: 401, detail: 'missing or invalid bearer token' } });
    setToken(null);
    localStorage.setItem('aitrader.lang', 'en');
    render(<I18nProvider><App /></I18nProvider>);
    fireEvent.change(screen.getByLabelText('Access token'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByText('The token was refused.');
    expect(screen.queryByText('Your session ended: sign in again.')).toBeNull();
  });
});
