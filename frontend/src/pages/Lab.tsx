// Strategy lab: start a backtest (profile, dataset, equity, costs), watch its progress, and compare backtests
// side by side (equity normalised to 1, metrics, profile diffs), with CSV/JSON export. Talks to /api/lab/...
// (CONTRACT §8) with the app's bearer token; its own small fetch helper until the lab paths are in the schema.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { getToken, notifyUnauthorized } from '../api/client.ts';
import { parseApiError } from '../lib/errors.ts';

interface Profile { name: string; version: number; spec: Record<string, unknown> }
interface Dataset { id: string; instId: string; bar: string; count: number; from: string; to: string }
interface Metrics {
  totalReturn: number | null; buyHoldReturn: number | null; maxDrawdown: number | null; sharpe: number | null;
  sortino: number | null; winRate: number | null; profitFactor: number | null; trades: number; fees: number;
  funding: number; llmCostUsd: number; runsBySource: Record<string, number>; exposure?: number; avgTrade?: number | null;
}
interface Backtest {
  id: string; status: string; progress: number; profile: string; profileVersion: number; instId: string;
  startEquity: number; endEquity: number | null; metrics: Metrics | null; partial: boolean; partialReason: string | null;
  simTime: string | null; runsDone: number; costUsd: number; error: string | null; createdAt: string | null;
}
interface Change { path: string; from: unknown; to: unknown }
interface Comparison { backtests: Backtest[]; equity: Record<string, { ts: number; equity: number }[]>; profileDiffs: Record<string, Change[]> }

async function lab<T>(path: string, body?: unknown): Promise<T> {
  const token = getToken();
  const response = await fetch(`/api/lab${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) notifyUnauthorized();
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new Error(parseApiError(response.status, data, response.statusText).message);
  return data as T;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f'];
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)} %`);
const num = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? '–' : v.toFixed(digits));

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export function Lab() {
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [files, setFiles] = useState<string[]>([]);
  const [backtests, setBacktests] = useState<Backtest[]>([]);
  const [selected, setSelected] = useState<string[]>([]);
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [form, setForm] = useState({ profile: '', datasetId: '', initialEquity: '10000', slippageBps: '2', budgetUsd: '' });

  const reload = useCallback(async () => {
    try {
      const [p, d, f, b] = await Promise.all([
        lab<Profile[]>('/profiles'), lab<Dataset[]>('/datasets'), lab<string[]>('/candle-files'), lab<Backtest[]>('/backtests'),
      ]);
      setProfiles(p); setDatasets(d); setFiles(f); setBacktests(b);
      setForm((old) => ({ ...old, profile: old.profile || p[0]?.name || '', datasetId: old.datasetId || d[0]?.id || '' }));
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  // eslint-disable-next-line react-hooks/set-state-in-effect -- the page's first load; this page fetches without TanStack Query yet
  useEffect(() => { void reload(); }, [reload]);
  const active = backtests.some((b) => b.status === 'queued' || b.status === 'running');
  useEffect(() => {
    if (!active) return undefined;
    const timer = window.setInterval(() => { void lab<Backtest[]>('/backtests').then(setBacktests).catch(() => undefined); }, 1500);
    return () => window.clearInterval(timer);
  }, [active]);

  const importFile = async (file: string) => {
    const dataset = datasets[0];
    const inst = window.prompt('Instrument of this file (e.g. XRP-USDT-SWAP)', dataset?.instId ?? 'XRP-USDT-SWAP');
    const bar = window.prompt('Bar of this file', '5m');
    if (!inst || !bar) return;
    try {
      const d = await lab<Dataset>('/datasets', { instId: inst, bar, file });
      setNotice(`dataset ${d.id}: ${d.count} candles ${d.from} → ${d.to}`);
      setForm((old) => ({ ...old, datasetId: d.id }));
      await reload();
    } catch (e) { setError((e as Error).message); }
  };

  const start = async (dryRun: boolean) => {
    setError(null);
    try {
      const body = {
        profile: form.profile, datasetId: form.datasetId, initialEquity: Number(form.initialEquity),
        slippageBps: Number(form.slippageBps), ...(form.budgetUsd ? { budgetUsd: Number(form.budgetUsd) } : {}), dryRun,
      };
      const answer = await lab<{ id: string | null; estimate: { runs: number; costUsd: number } }>('/backtests', body);
      setNotice(`${answer.id ? `queued ${answer.id}` : 'estimate'}: ${answer.estimate.runs} analyses, $${answer.estimate.costUsd.toFixed(4)}`);
      if (answer.id) await reload();
    } catch (e) { setError((e as Error).message); }
  };

  const compare = async () => {
    try { setComparison(await lab<Comparison>(`/compare?ids=${selected.join(',')}`)); } catch (e) { setError((e as Error).message); }
  };

  const toggle = (id: string) => setSelected((old) => (old.includes(id) ? old.filter((x) => x !== id) : [...old, id]));

  return (
    <div className="page lab">
      <h1 className="page-title">Strategy lab</h1>
      <div className="notice" role="note" data-testid="lab-warning">
        A backtest of an LLM cannot prove future returns: the model may have seen this history in training, fills are
        modelled (no order book, fixed slippage, no partial fills, the market waits while the agent thinks), and funding
        is a series or a constant. Use it to find broken prompts and settings.
      </div>
      {error && <div className="error-box" role="alert" onClick={() => setError(null)}>{error}</div>}
      {notice && <div className="notice" role="status" onClick={() => setNotice(null)}>{notice}</div>}

      <section className="card">
        <h2>New backtest</h2>
        <form onSubmit={(e) => { e.preventDefault(); void start(false); }} className="form-row">
          <label>Profile <select value={form.profile} onChange={(e) => setForm({ ...form, profile: e.target.value })}>
            {profiles.map((p) => <option key={p.name} value={p.name}>{p.name} v{p.version}</option>)}
          </select></label>
          <label>Dataset <select value={form.datasetId} onChange={(e) => setForm({ ...form, datasetId: e.target.value })}>
            {datasets.map((d) => <option key={d.id} value={d.id}>{d.instId} {d.bar} {d.from.slice(0, 10)} → {d.to.slice(0, 10)} ({d.count})</option>)}
          </select></label>
          <label>Equity <input value={form.initialEquity} onChange={(e) => setForm({ ...form, initialEquity: e.target.value })} inputMode="decimal" /></label>
          <label>Slippage bps <input value={form.slippageBps} onChange={(e) => setForm({ ...form, slippageBps: e.target.value })} inputMode="decimal" /></label>
          <label>Budget USD <input value={form.budgetUsd} onChange={(e) => setForm({ ...form, budgetUsd: e.target.value })} inputMode="decimal" placeholder="none" /></label>
          <button type="button" className="btn" onClick={() => void start(true)}>Estimate</button>
          <button type="submit" className="btn btn-primary" disabled={!form.profile || !form.datasetId}>Start</button>
        </form>
        {files.length > 0 && (
          <p>Import a candle file: {files.map((f) => <button key={f} type="button" className="btn btn-link" onClick={() => void importFile(f)}>{f}</button>)}</p>
        )}
      </section>

      <section className="card">
        <h2>Backtests</h2>
        <table className="table" data-testid="lab-backtests">
          <thead><tr><th /><th>id</th><th>profile</th><th>instrument</th><th>status</th><th>progress</th><th>simulated</th><th>runs</th><th>return</th><th>B&amp;H</th><th>max DD</th><th>Sharpe</th><th>trades</th><th>LLM $</th></tr></thead>
          <tbody>
            {backtests.map((b) => (
              <tr key={b.id}>
                <td><input type="checkbox" checked={selected.includes(b.id)} onChange={() => toggle(b.id)} aria-label={`compare ${b.id}`} /></td>
                <td>{b.id}</td><td>{b.profile}@{b.profileVersion}</td><td>{b.instId}</td>
                <td>{b.status}{b.partial ? ` (partial: ${b.partialReason})` : ''}{b.error ? ` — ${b.error}` : ''}</td>
                <td><progress max={1} value={b.progress} /> {(b.progress * 100).toFixed(0)} %</td>
                <td>{b.simTime?.slice(0, 16).replace('T', ' ') ?? '–'}</td><td>{b.runsDone}</td>
                <td>{pct(b.metrics?.totalReturn)}</td><td>{pct(b.metrics?.buyHoldReturn)}</td><td>{pct(b.metrics?.maxDrawdown)}</td>
                <td>{num(b.metrics?.sharpe)}</td><td>{b.metrics?.trades ?? '–'}</td><td>{num(b.costUsd, 4)}</td>
                <td>{(b.status === 'queued' || b.status === 'running') && <button type="button" className="btn btn-small" onClick={() => void lab(`/backtests/${b.id}/cancel`, {}).then(reload)}>Cancel</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" className="btn btn-primary" disabled={selected.length === 0} onClick={() => void compare()}>Compare selected</button>
      </section>

      {comparison && <ComparisonView comparison={comparison} />}
    </div>
  );
}

function ComparisonView({ comparison }: { comparison: Comparison }) {
  const { backtests, equity, profileDiffs } = comparison;
  const bounds = useMemo(() => {
    const points = Object.values(equity).flat();
    if (points.length === 0) return null;
    const ts = points.map((p) => p.ts);
    const ys = points.map((p) => p.equity);
    return { x0: Math.min(...ts), x1: Math.max(...ts), y0: Math.min(...ys), y1: Math.max(...ys) };
  }, [equity]);
  const width = 900;
  const height = 280;
  const path = (series: { ts: number; equity: number }[]) => {
    if (!bounds) return '';
    const sx = (t: number) => ((t - bounds.x0) / Math.max(bounds.x1 - bounds.x0, 1)) * width;
    const sy = (v: number) => height - ((v - bounds.y0) / Math.max(bounds.y1 - bounds.y0, 1e-9)) * height;
    const step = Math.max(1, Math.floor(series.length / 1500));
    return series.filter((_, i) => i % step === 0).map((p) => `${sx(p.ts).toFixed(1)},${sy(p.equity).toFixed(1)}`).join(' ');
  };
  const rows: [string, (m: Metrics) => string][] = [
    ['total return', (m) => pct(m.totalReturn)], ['buy & hold', (m) => pct(m.buyHoldReturn)],
    ['max drawdown', (m) => pct(m.maxDrawdown)], ['Sharpe', (m) => num(m.sharpe)], ['Sortino', (m) => num(m.sortino)],
    ['win rate', (m) => pct(m.winRate)], ['profit factor', (m) => num(m.profitFactor)], ['trades', (m) => String(m.trades)],
    ['avg trade USDT', (m) => num(m.avgTrade)], ['exposure', (m) => pct(m.exposure)], ['fees USDT', (m) => num(m.fees)],
    ['funding USDT', (m) => num(m.funding)], ['LLM USD', (m) => num(m.llmCostUsd, 4)],
    ['runs by source', (m) => Object.entries(m.runsBySource).map(([k, v]) => `${k} ${v}`).join(', ')],
  ];
  const csv = () => {
    const header = ['metric', ...backtests.map((b) => b.id)].join(',');
    const lines = rows.map(([name, f]) => [name, ...backtests.map((b) => (b.metrics ? f(b.metrics) : ''))].map((c) => `"${c}"`).join(','));
    download('lab-comparison.csv', [header, ...lines].join('\n'), 'text/csv');
  };
  return (
    <section className="card" data-testid="lab-compare">
      <h2>Comparison (equity normalised to 1)</h2>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" height={height} role="img" aria-label="equity curves">
        {backtests.map((b, i) => <polyline key={b.id} fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth={1.5} points={path(equity[b.id] ?? [])} />)}
      </svg>
      <p>{backtests.map((b, i) => <span key={b.id} style={{ color: COLORS[i % COLORS.length], marginRight: '1em' }}>■ {b.profile}@{b.profileVersion} ({b.id})</span>)}
        {bounds && <span>range {bounds.y0.toFixed(3)} – {bounds.y1.toFixed(3)}</span>}</p>
      <table className="table">
        <thead><tr><th>metric</th>{backtests.map((b) => <th key={b.id}>{b.profile}@{b.profileVersion}</th>)}</tr></thead>
        <tbody>{rows.map(([name, f]) => <tr key={name}><td>{name}</td>{backtests.map((b) => <td key={b.id}>{b.metrics ? f(b.metrics) : b.status}</td>)}</tr>)}</tbody>
      </table>
      <h3>Profile changes against {backtests[0]?.profile}@{backtests[0]?.profileVersion}</h3>
      <ul>
        {Object.entries(profileDiffs).map(([id, changes]) => (
          <li key={id}>{id}: {changes.length === 0 ? 'same settings' : changes.map((c) => `${c.path}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join('; ')}</li>
        ))}
      </ul>
      <button type="button" className="btn" onClick={csv}>Export CSV</button>{' '}
      <button type="button" className="btn" onClick={() => download('lab-comparison.json', JSON.stringify(comparison, null, 1), 'application/json')}>Export JSON</button>
    </section>
  );
}
