// The web app in headless Chromium against the real stack (scripts/run.py: PostgreSQL database of its
// own, OKX simulator, trading API, agent with the offline model, the built app behind the same-origin
// proxy). One stack and one browser page for the whole file; the steps run in order and build on each
// other like a user's session. Screenshots go to e2e-artifacts/ (gitignored).
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSseParser } from '../src/lib/sse.ts';
import { launchBrowser } from './browser.ts';
import { SchemaChecker } from './schema-check.ts';
import { type Stack, frontendRoot, startStack } from './stack.ts';

const ARTIFACTS = path.join(frontendRoot, 'e2e-artifacts');
const BTC = 'BTC-USDT-SWAP';
const ETH = 'ETH-USDT-SWAP';
const DESKTOP = { width: 1280, height: 800 };
const WIDE = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const WIDTHS = [WIDE, DESKTOP, PHONE] as const;
type Route = 'dashboard' | 'strategy' | 'performance' | 'chat' | 'trade';

let stack: Stack;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

/**
 * The button is fully on screen without scrolling sideways and nothing covers it: its box lies inside the
 * viewport and inside every scrolling ancestor's visible box, and the element at its centre is the button.
 */
async function assertFullyVisible(locator: ReturnType<Page['locator']>, what: string): Promise<void> {
  await locator.waitFor();
  const problem = await locator.evaluate((el) => {
    // as a person first sees it: every sideways-scrolling box at its start, the page scrolled (vertically
    // only) to the element; a button that needs a sideways scroll to be reached counts as off-screen
    for (let parent = el.parentElement; parent; parent = parent.parentElement) parent.scrollLeft = 0;
    const before = el.getBoundingClientRect();
    window.scrollTo({ left: 0, top: window.scrollY + before.top - window.innerHeight / 2, behavior: 'instant' });
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return 'has no size';
    if (box.left < 0 || box.top < 0 || box.right > window.innerWidth + 0.5 || box.bottom > window.innerHeight + 0.5) return `is outside the viewport: ${JSON.stringify(box)} vs ${window.innerWidth}x${window.innerHeight}`;
    for (let parent = el.parentElement; parent; parent = parent.parentElement) {
      const style = getComputedStyle(parent);
      if (!/(auto|scroll|hidden)/.test(style.overflowX + style.overflowY)) continue;
      const clip = parent.getBoundingClientRect();
      if (box.left < clip.left - 0.5 || box.right > clip.right + 0.5 || box.top < clip.top - 0.5 || box.bottom > clip.bottom + 0.5) return `is clipped by ${parent.className || parent.tagName}: ${JSON.stringify(box)} vs ${JSON.stringify(clip)}`;
    }
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit && (hit === el || el.contains(hit)) ? null : `is covered by ${hit?.tagName}.${hit?.className}`;
  });
  expect(problem, `${what} ${problem}`).toBeNull();
}

async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
}

async function apiJson<T = unknown>(route: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(stack.apiUrl + route, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${stack.token}`, ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

async function sim(route: string, body?: unknown): Promise<void> {
  const response = await fetch(`${stack.simUrl}/_sim/${route}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `simulator ${route}`).toBeLessThan(300);
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function go(route: Route): Promise<void> {
  await page.click(`nav a[href="#/${route}"]`);
  await page.waitForFunction((name) => window.location.hash === `#/${name}`, route);
}

/** Reads an SSE answer for `ms` milliseconds (or to its end) and returns the decoded events. */
async function readSse(url: string, init: RequestInit, ms: number): Promise<{ event: string; data: unknown }[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const events: { event: string; data: unknown }[] = [];
  const parser = createSseParser();
  const take = (list: ReturnType<typeof parser.push>) => {
    for (const e of list) events.push({ event: e.event || 'message', data: e.data ? JSON.parse(e.data) : null });
  };
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    expect(response.headers.get('content-type') ?? '').toContain('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      take(parser.push(value));
    }
    take(parser.end());
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  } finally {
    clearTimeout(timer);
  }
  return events;
}

beforeAll(async () => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack({
    OKX_INST_IDS: `${BTC},${ETH}`,
    OKXSIM_TICK_MS: '300',
    BALANCE_SNAPSHOT_INTERVAL_SECS: '1',
    BALANCE_SNAPSHOT_MIN_ABS_CHANGE: '0.01',
    // AI orders wait for a person: the approvals badge step needs one
    TRADE_APPROVAL_MODE: 'manual',
  });
  ({ browser, close: closeBrowser } = await launchBrowser());
  context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept()); // the close-position confirmation
}, 150_000);

afterAll(async () => {
  await closeBrowser?.();
  if (stack) {
    fs.writeFileSync(path.join(ARTIFACTS, 'run-output.log'), stack.output());
    await stack.stop();
  }
}, 60_000);

describe('web app against the real stack', () => {
  it('signs in with the access token (a wrong one is refused) and shows the simulator and offline banners', async () => {
    await page.goto(stack.webUrl);
    await page.fill('input[name=token]', 'not-the-token');
    await page.click('form[data-testid=signin-form] button[type=submit]');
    await page.getByText('The token was refused.').waitFor();
    expect(await page.getByText('Your session ended').count(), 'a wrong first token is not an ended session').toBe(0);
    await shot('signin-refused', false);
    await page.fill('input[name=token]', stack.token);
    await page.click('form[data-testid=signin-form] button[type=submit]');
    await page.getByTestId('market-strip').waitFor();
    await page.getByTestId('banner-simulator').waitFor();
    await page.getByTestId('banner-offline').waitFor();
    await page.getByTestId('candle-chart').waitFor();
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid=equity]')?.textContent ?? ''));
    expect(await page.getByTestId('feed-status').textContent()).toContain('Live');
    await shot('dashboard-1280');
  });

  it('shows live prices changing on the market strip, pushed by the stream', async () => {
    const last = page.getByTestId(`ticker-${BTC}`).getByTestId('ticker-last');
    const first = await last.textContent();
    await until('the BTC price to change', async () => (await last.textContent()) !== first);
    // a price set on the simulator appears exactly
    await sim('pause');
    await sim('price', { instId: ETH, price: '3333.33' });
    await page.waitForFunction((id) => (document.querySelector(`[data-testid="ticker-${id}"] [data-testid=ticker-last]`)?.textContent ?? '').replace(/,/g, '') === '3333.33', ETH);
    await sim('resume');
  });

  it('switching the chart to another instrument shows that instrument’s candles (not the previous ones)', async () => {
    const chart = page.getByTestId('candle-chart');
    await page.waitForFunction((id) => document.querySelector('[data-testid=candle-chart]')?.getAttribute('data-series-key')?.startsWith(id) ?? false, BTC);
    const btcClose = Number(await chart.getAttribute('data-last-close'));
    await page.getByTestId(`ticker-${ETH}`).click();
    await page.waitForFunction((id) => document.querySelector('[data-testid=candle-chart]')?.getAttribute('data-series-key')?.startsWith(id) ?? false, ETH);
    const ethPrice = Number(((await page.getByTestId(`ticker-${ETH}`).getByTestId('ticker-last').textContent()) ?? '').replace(/,/g, ''));
    // the series itself holds ETH's bars: its last close is near ETH's price, far from BTC's
    await until('the chart to hold ETH candles', async () => {
      const close = Number(await chart.getAttribute('data-last-close'));
      return Math.abs(close - ethPrice) / ethPrice < 0.05 && Math.abs(close - btcClose) / btcClose > 0.5;
    }, 15_000);
    await shot('dashboard-eth-chart-1280', false);
    // another timeframe: another series
    await page.selectOption('select[name=bar]', '1m');
    await page.waitForFunction((key) => document.querySelector('[data-testid=candle-chart]')?.getAttribute('data-series-key') === key, `${ETH}:1m`);
    await page.getByTestId(`ticker-${BTC}`).click();
    await page.waitForFunction((key) => document.querySelector('[data-testid=candle-chart]')?.getAttribute('data-series-key') === key, `${BTC}:1m`);
    const btcPrice = async () => Number(((await page.getByTestId(`ticker-${BTC}`).getByTestId('ticker-last').textContent()) ?? '').replace(/,/g, ''));
    let seen = '';
    try {
      await until('the chart to hold BTC candles again', async () => {
        const close = Number(await chart.getAttribute('data-last-close'));
        const price = await btcPrice();
        seen = `chart ${await chart.getAttribute('data-series-key')} bars ${await chart.getAttribute('data-bars')} last close ${close}, BTC ${price}, BTC 3m close ${btcClose}`;
        return Math.abs(close - price) / price < 0.05;
      }, 15_000);
    } catch (error) {
      await shot('chart-btc-failed', false);
      throw new Error(`${(error as Error).message}: ${seen}`);
    }
    await page.selectOption('select[name=bar]', '3m');
  });

  it('runs an analysis now and shows the run with its summary and tool calls', async () => {
    await go('strategy');
    const card = page.getByTestId(`inst-${BTC}`);
    await card.waitFor();
    await card.getByTestId('run-now').click();
    const run = await until('the manual run to finish', async () => {
      const { body } = await apiJson<{ id: string; source: string; status: string; summary: string | null }[]>(`/api/model/strategy-runs?instId=${BTC}`);
      return body.find((r) => r.source === 'manual' && (r.status === 'succeeded' || r.status === 'failed'));
    }, 60_000);
    expect(run.status, `run ${run.id}`).toBe('succeeded');
    const row = page.getByTestId('run-row').filter({ hasText: BTC }).filter({ hasText: 'succeeded' }).first();
    await row.waitFor();
    await shot('strategy');
    await row.click();
    const detail = page.getByTestId('run-detail');
    await detail.waitFor();
    const summary = (await detail.getByTestId('run-summary').textContent()) ?? '';
    expect(summary.length).toBeGreaterThan(10);
    expect(summary).toBe(run.summary);
    expect(await detail.getByTestId('run-tool-calls').locator('li').count()).toBeGreaterThan(0);
    await shot('strategy-run-detail', false);
    await detail.getByRole('button').first().click();
    await detail.waitFor({ state: 'detached' });
  });

  it('run history shows a signed deviation, the decision column, and every column on a phone', async () => {
    const { body: runs } = await apiJson<{ id: string; triggerPrice: string | null; baselinePrice: string | null }[]>(`/api/model/strategy-runs?instId=${BTC}`);
    const withPrices = runs.find((r) => r.triggerPrice && r.baselinePrice && r.triggerPrice !== r.baselinePrice);
    if (withPrices) {
      const expected = Number(withPrices.triggerPrice) < Number(withPrices.baselinePrice) ? '-' : '+';
      const cell = page.getByTestId('run-row').filter({ hasText: BTC }).first().getByTestId('run-deviation');
      expect((await cell.textContent())?.charAt(0)).toBe(expected);
    }
    await page.setViewportSize(PHONE);
    const row = page.getByTestId('run-row').first();
    for (const label of ['Time', 'Instrument', 'Source', 'Decision', 'Deviation', 'Status', 'Duration']) {
      await assertFullyVisible(row.locator(`td[data-label="${label}"]`), `phone run history cell ${label}`);
    }
    await shot('strategy-history-390');
    await page.setViewportSize(DESKTOP);
  });

  it('pauses automation with a reason and resumes it', async () => {
    await page.fill('[data-testid=automation] input', 'e2e: watching the market myself');
    await page.getByRole('button', { name: 'Pause automation' }).click();
    await page.getByTestId('automation-state').filter({ hasText: 'Automation is paused' }).waitFor();
    await page.getByTestId('automation').getByText('e2e: watching the market myself').waitFor();
    const paused = await apiJson<{ paused: boolean; pausedReason: string | null }>('/api/scheduler/status');
    expect(paused.body).toMatchObject({ paused: true, pausedReason: 'e2e: watching the market myself' });
    await shot('strategy-paused', false);
    await go('dashboard');
    await page.getByTestId('banner-paused').waitFor(); // the pause shows on every page
    await go('strategy');
    await page.getByRole('button', { name: 'Resume automation' }).click();
    await page.getByTestId('automation-state').filter({ hasText: 'Automation is active' }).waitFor();
    expect((await apiJson<{ paused: boolean }>('/api/scheduler/status')).body.paused).toBe(false);
  });

  it('streams a chat answer with its tool calls and lists the session', async () => {
    await go('chat');
    await page.fill('.chat-input textarea', 'How is BTC doing right now?');
    const chatResponse = page.waitForResponse((r) => r.url().endsWith('/agent/chat'));
    await page.click('.chat-input button[type=submit]');
    expect((await chatResponse).headers()['content-type']).toContain('text/event-stream');
    const answer = page.getByTestId('message-assistant').last();
    await answer.getByTestId('tool-call').first().waitFor();
    await page.waitForFunction(() => {
      const messages = document.querySelectorAll('[data-testid=message-assistant]');
      const last = messages[messages.length - 1];
      return last && !last.querySelector('.pulse') && (last.querySelector('.message-text')?.textContent ?? '').length > 10;
    });
    const text = (await answer.locator('.message-text').last().textContent()) ?? '';
    expect(text).toMatch(/BTC|price|trend/i);
    await page.getByTestId('chat-sessions').locator('li').first().waitFor();
    await shot('chat');
  });

  it('places a manual market order and closes the position from the dashboard', async () => {
    await go('trade');
    await page.getByTestId('order-form').waitFor();
    await page.selectOption('select[name=instId]', ETH);
    await page.fill('input[name=size]', '1');
    await page.getByTestId('order-preview').waitFor();
    await page.getByTestId('place-order').click();
    await page.getByTestId('order-result').waitFor();
    await shot('trade-placed', false);
    await until('the ETH position at OKX', async () => {
      const { body } = await apiJson<{ positions: { instId: string; pos: string }[] }>('/api/account/positions');
      return body.positions.find((p) => p.instId === ETH && Number(p.pos) === 1);
    });
    await go('dashboard');
    const row = page.getByTestId('positions-table').locator('tr', { hasText: ETH });
    await row.waitFor();
    expect(await row.getByTestId('position-size').textContent()).toBe('1');
    await page.getByTestId(`ticker-${ETH}`).click();
    await page.waitForFunction(() => (document.querySelector('[data-testid=candle-chart]')?.getAttribute('data-price-lines') ?? '').includes('entry'));
    // the fill is marked on the chart (▲ buy)
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=candle-chart]')?.getAttribute('data-fill-markers') ?? '0') > 0);
    await shot('dashboard-position');
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      await assertFullyVisible(row.getByTestId('close-position'), `Close at ${size.width} px`);
      await shot(`dashboard-position-${size.width}`);
    }
    await page.setViewportSize(DESKTOP);
    // a stop-loss set from the table reaches OKX (interface 2: POST /api/trade/position-tpsl)
    const open = (await apiJson<{ positions: { instId: string; avgPx: string }[] }>('/api/account/positions')).body.positions.find((p) => p.instId === ETH)!;
    const stop = (Math.floor(Number(open.avgPx) * 0.9 * 100) / 100).toFixed(2);
    await row.getByTestId('edit-tpsl').click();
    await page.getByTestId('tpsl-form').locator('input[name=slTriggerPx]').fill(stop);
    await page.getByTestId('tpsl-form').getByRole('button', { name: 'Set' }).click();
    await page.getByTestId('tpsl-form').waitFor({ state: 'detached' });
    await until('the stop-loss on the position', async () => {
      const { body } = await apiJson<{ positions: { instId: string; slTriggerPx: string | null }[] }>('/api/account/positions');
      return body.positions.find((p) => p.instId === ETH && p.slTriggerPx !== null && Number(p.slTriggerPx) === Number(stop));
    });
    await row.getByTestId('close-position').click(); // confirms in a dialog (accepted by the page handler)
    await row.waitFor({ state: 'detached' });
    const { body } = await apiJson<{ positions: { instId: string }[] }>('/api/account/positions');
    expect(body.positions.filter((p) => p.instId === ETH)).toEqual([]);
  });

  it('shows the risk guard refusal with its rule and numbers', async () => {
    await go('trade');
    await page.selectOption('select[name=instId]', ETH);
    await page.fill('input[name=size]', '1');
    await page.fill('input[name=leverage]', '50');
    await page.getByTestId('place-order').click();
    const refusal = page.getByTestId('risk-refusal');
    await refusal.waitFor();
    expect(await refusal.locator('code').textContent()).toBe('max_leverage');
    expect(await refusal.textContent()).toMatch(/50/);
    await shot('trade-refused', false);
    const { body } = await apiJson<{ refusals: { rule: string; origin: string }[] }>('/api/trade/risk/refusals');
    expect(body.refusals[0]).toMatchObject({ rule: 'max_leverage', origin: 'manual' });
  });

  it('an open order’s Cancel button stays on screen at 1440, 1280 and 390 px, and cancels', async () => {
    await go('trade');
    await page.selectOption('select[name=instId]', ETH);
    await page.getByRole('button', { name: 'Limit' }).click();
    const spec = (await apiJson<{ instId: string; tickSz: string }[]>('/api/market/instruments')).body.find((i) => i.instId === ETH)!;
    const ethLast = Number((await apiJson<{ instId: string; last: string }[]>('/api/market/tickers')).body.find((t) => t.instId === ETH)!.last);
    const decimals = spec.tickSz.includes('.') ? spec.tickSz.split('.')[1]!.length : 0;
    const far = (Math.floor((ethLast * 0.5) / Number(spec.tickSz)) * Number(spec.tickSz)).toFixed(decimals);
    await page.fill('input[name=px]', `${far}${decimals ? '' : '.'}5`); // one digit past the tick: caught before submit
    await page.fill('input[name=size]', '1');
    await page.fill('input[name=leverage]', ''); // the refusal step before left 50 in the form
    await page.getByTestId('order-form-error').filter({ hasText: 'tick size' }).waitFor();
    expect(await page.getByTestId('place-order').isDisabled()).toBe(true);
    await page.fill('input[name=px]', far);
    await page.getByTestId('place-order').click();
    await page.locator('[data-testid=order-result], [role=alert]').first().waitFor();
    expect(await page.locator('[role=alert]').count(), (await page.locator('[role=alert]').allTextContents()).join(' | ')).toBe(0);
    await go('dashboard');
    const row = page.getByTestId('orders-table').locator('tr', { hasText: ETH });
    await row.waitFor();
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      await assertFullyVisible(row.getByTestId('cancel-order'), `Cancel at ${size.width} px`);
      await shot(`dashboard-orders-${size.width}`);
    }
    await page.setViewportSize(DESKTOP);
    await row.getByTestId('cancel-order').click();
    await row.waitFor({ state: 'detached' });
  });

  it('shows performance: the closed position, statistics and CSV export', async () => {
    await go('performance');
    await page.getByTestId('closed-row').first().waitFor();
    expect(Number(await page.getByTestId('perf-trades').textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('perf-winrate').textContent()).toMatch(/%$/);
    const download = page.waitForEvent('download');
    await page.getByTestId('export-csv').click();
    const file = await download;
    const csv = fs.readFileSync(await file.path(), 'utf8');
    expect(csv.split('\r\n')[0]).toContain('realizedPnl');
    expect(csv).toContain(ETH);
    await shot('performance-1280');
  });

  it('shows the risk panel with the guard’s limits and the leverage placeholder from its maximum', async () => {
    await go('trade');
    const { body } = await apiJson<{ limits: { maxLeverage: string } }>('/api/trade/risk');
    await page.getByTestId('risk-max-leverage').filter({ hasText: `${body.limits.maxLeverage}×` }).waitFor();
    const spec = (await apiJson<{ instId: string; lever: string }[]>('/api/market/instruments')).body.find((i) => i.instId === ETH)!;
    await page.selectOption('select[name=instId]', ETH);
    const placeholder = await page.getAttribute('input[name=leverage]', 'placeholder');
    expect(placeholder).toBe(`≤ ${Math.min(Number(spec.lever), Number(body.limits.maxLeverage))}`);
    expect((await page.getByTestId('time-zone').textContent())?.length).toBeGreaterThan(2);
  });

  it('an AI order awaiting approval shows in the badge on any page, with its details; approving it places it', async () => {
    const { body: runs } = await apiJson<{ id: string }[]>('/api/model/strategy-runs?limit=1');
    const runId = runs[0]!.id;
    // what the agent sends for a run's order (interface 1: the origin header; the API before it: the body's runId)
    const response = await fetch(`${stack.apiUrl}/api/trade/order`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json', 'X-AiTrader-Origin': `agent:run:${runId}` },
      body: JSON.stringify({ instId: ETH, side: 'buy', ordType: 'market', sz: '2', runId }),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    await go('performance');
    const badge = page.getByTestId('approvals-badge');
    await badge.waitFor();
    await badge.click();
    const panel = page.getByTestId('approvals-panel');
    const row = panel.getByTestId('approval-row').filter({ hasText: ETH }).filter({ hasText: '2 contracts' });
    await row.waitFor();
    expect(await row.getByTestId('origin').textContent()).toBe('AI analysis');
    expect(await row.textContent()).toMatch(/USDT/); // the notional
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      await assertFullyVisible(row.getByRole('button', { name: 'Approve' }), `Approve at ${size.width} px`);
      await shot(`approvals-${size.width}`, false);
    }
    await page.setViewportSize(DESKTOP);
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached' });
    await until('the approval to be decided', async () => {
      const { body } = await apiJson<{ approvals: { runId: string | null; status: string; request: { sz?: string } }[] }>('/api/trade/approvals?status=all');
      return body.approvals.find((a) => a.runId === runId && a.request.sz === '2' && a.status !== 'pending');
    });
    await page.keyboard.press('Escape');
    if (await panel.count()) await panel.getByRole('button', { name: 'Close' }).click();
    const closed = await apiJson('/api/trade/close-position', { method: 'POST', body: { instId: ETH } });
    expect([200, 201]).toContain(closed.status);
  });

  it('every page at 1440, 1280 and 390 px, in English and 中文: no sideways overflow, screenshots', async () => {
    const routes: Route[] = ['dashboard', 'strategy', 'performance', 'chat', 'trade'];
    for (const lang of ['en', 'zh'] as const) {
      if (lang === 'zh') await page.getByRole('button', { name: '中文' }).click();
      for (const route of routes) {
        await go(route);
        for (const size of WIDTHS) {
          await page.setViewportSize(size);
          await page.waitForTimeout(150);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow, `${route} ${lang} ${size.width} px: horizontal overflow (px)`).toBeLessThanOrEqual(1);
          await shot(`page-${route}-${lang}-${size.width}`);
        }
      }
    }
    await page.setViewportSize(DESKTOP);
    await page.getByRole('button', { name: 'English' }).click();
    await go('dashboard');
  });

  it('fits a phone-width screen and speaks Chinese', async () => {
    await go('dashboard');
    await page.setViewportSize(PHONE);
    await page.getByTestId('candle-chart').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'horizontal overflow at phone width (px)').toBeLessThanOrEqual(1);
    await shot('dashboard-phone');
    await page.setViewportSize(DESKTOP);
    await page.getByRole('button', { name: '中文' }).click();
    await page.locator('nav a[href="#/dashboard"]', { hasText: '总览' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await shot('dashboard-zh');
    await go('strategy');
    await page.getByText('立即分析').first().waitFor();
    await shot('strategy-zh');
    await page.getByRole('button', { name: 'English' }).click();
    await page.locator('nav a[href="#/dashboard"]', { hasText: 'Dashboard' }).waitFor();
  });

  it('a 401 anywhere returns to sign-in', async () => {
    // the token stops being accepted (as after API_TOKEN is changed): the next screen's requests get 401s
    await page.evaluate(() => sessionStorage.setItem('aitrader.token', 'expired-token'));
    await go('dashboard');
    await page.getByText('Your session ended: sign in again.').waitFor();
    await page.fill('input[name=token]', stack.token);
    await page.click('form[data-testid=signin-form] button[type=submit]');
    await page.getByTestId('market-strip').waitFor();
  });

  it('raised no uncaught error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('the answers match the schemas the app is typed from', () => {
  const api = () => new SchemaChecker('api');
  const agent = () => new SchemaChecker('agent');

  it('trading API reads', async () => {
    const checker = api();
    const routes: [string, string][] = [
      ['/api/health', '/api/health'],
      ['/api/market/tickers', '/api/market/tickers'],
      [`/api/market/candles?instId=${BTC}&bar=1m&limit=5`, '/api/market/candles'],
      ['/api/market/instruments', '/api/market/instruments'],
      ['/api/account/balances', '/api/account/balances'],
      ['/api/account/balances/snapshots?limit=50', '/api/account/balances/snapshots'],
      ['/api/account/initial-equity', '/api/account/initial-equity'],
      ['/api/account/orders?state=all', '/api/account/orders'],
      ['/api/account/fills', '/api/account/fills'],
      ['/api/account/positions', '/api/account/positions'],
      ['/api/trade/risk', '/api/trade/risk'],
      ['/api/trade/risk/refusals', '/api/trade/risk/refusals'],
      ['/api/trade/approvals?status=all', '/api/trade/approvals'],
      ['/api/scheduler/status', '/api/scheduler/status'],
      ['/api/model/strategy-runs', '/api/model/strategy-runs'],
    ];
    const problems: string[] = [];
    for (const [url, route] of routes) {
      const { status, body } = await apiJson(url);
      expect(status, url).toBe(200);
      problems.push(...checker.check(body, checker.response('get', route, '200'), url));
    }
    // the untyped lists inside a run: the agent's tool call records and orders
    const runs = (await apiJson<{ toolCalls: unknown[]; orders: unknown[] }[]>('/api/model/strategy-runs')).body;
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      run.toolCalls.forEach((call, i) => problems.push(...checker.check(call, checker.component('RunToolCall'), `run.toolCalls[${i}]`)));
      run.orders.forEach((order, i) => problems.push(...checker.check(order, checker.component('RunOrder'), `run.orders[${i}]`)));
    }
    // the app's records came out of the UI steps: an order, a fill, a closed position, a refusal
    const orders = (await apiJson<{ orders: unknown[] }>('/api/account/orders?state=all')).body.orders;
    expect(orders.length).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
  });

  it('trading API writes: order, close, refusal', async () => {
    const checker = api();
    const placed = await apiJson('/api/trade/order', { method: 'POST', body: { instId: ETH, side: 'sell', ordType: 'market', sz: '0.5' } });
    expect(placed.status).toBe(201);
    const closed = await apiJson('/api/trade/close-position', { method: 'POST', body: { instId: ETH } });
    expect(closed.status).toBe(201);
    const refused = await apiJson('/api/trade/order', { method: 'POST', body: { instId: ETH, side: 'buy', ordType: 'market', sz: '1', leverage: 60 } });
    expect(refused.status).toBe(422);
    expect([
      ...checker.check(placed.body, checker.response('post', '/api/trade/order', '201'), 'order'),
      ...checker.check(closed.body, checker.response('post', '/api/trade/close-position', '201'), 'close'),
      ...checker.check(refused.body, checker.response('post', '/api/trade/order', '422'), 'refusal'),
    ]).toEqual([]);
  });

  it('GET /api/stream events', async () => {
    const checker = api();
    const eventsP = readSse(`${stack.apiUrl}/api/stream`, { headers: { Authorization: `Bearer ${stack.token}` } }, 4000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await apiJson('/api/scheduler/pause', { method: 'POST', body: { reason: 'schema check' } });
    await apiJson('/api/scheduler/resume', { method: 'POST' });
    const events = await eventsP;
    const schemaOf: Record<string, string> = { ticker: 'StreamTicker', balance: 'BalanceEvent', run: 'StrategyRun', scheduler: 'SchedulerStatus' };
    const seen = new Set(events.map((e) => e.event));
    expect(seen.has('ticker')).toBe(true);
    expect(seen.has('scheduler')).toBe(true);
    const problems = events.flatMap((e, i) => (schemaOf[e.event] ? checker.check(e.data, checker.component(schemaOf[e.event]!), `${e.event}#${i}`) : []));
    expect(problems).toEqual([]);
  });

  it('agent: health, sessions and the /chat events', async () => {
    const checker = agent();
    const headers = { Authorization: `Bearer ${stack.token}` };
    const problems: string[] = [];
    const health = await (await fetch(`${stack.agentUrl}/health`)).json();
    problems.push(...checker.check(health, checker.response('get', '/health', '200'), 'health'));
    const sessions = (await (await fetch(`${stack.agentUrl}/sessions`, { headers })).json()) as { id: string }[];
    problems.push(...checker.check(sessions, checker.response('get', '/sessions', '200'), 'sessions'));
    const chatSession = sessions.find((s) => s.id.startsWith('chat'));
    expect(chatSession).toBeDefined();
    const detail = await (await fetch(`${stack.agentUrl}/sessions/${encodeURIComponent(chatSession!.id)}`, { headers })).json();
    problems.push(...checker.check(detail, checker.response('get', '/sessions/{session_id}', '200'), 'session'));
    const events = await readSse(`${stack.agentUrl}/chat`, {
      method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ message: 'And ETH?', instId: ETH }),
    }, 30_000);
    const schemaOf: Record<string, string> = {
      session: 'ChatSessionEvent', delta: 'ChatDeltaEvent', reasoning: 'ChatDeltaEvent', tool_call: 'ChatToolCallEvent',
      tool_result: 'ChatToolResultEvent', final: 'ChatFinalEvent', error: 'ChatErrorEvent',
    };
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('session');
    expect(names.at(-1)).toBe('final');
    expect(names).toContain('delta');
    for (const [i, e] of events.entries()) {
      const schema = schemaOf[e.event];
      if (!schema) problems.push(`chat event #${i} has an unknown name ${e.event}`);
      else problems.push(...checker.check(e.data, checker.component(schema), `${e.event}#${i}`));
    }
    expect(problems).toEqual([]);
  });
});
