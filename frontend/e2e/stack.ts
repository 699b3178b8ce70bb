// The whole system as `make run` starts it (scripts/run.py: OKX simulator, trading API, agent with the
// offline model, and the built web app behind scripts/web_server.py), on free ports, with a fresh
// PostgreSQL database created on the server of TEST_DATABASE_URL and dropped afterwards.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const frontendRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(frontendRoot, '..');
export const python = path.join(repoRoot, '.venv', 'bin', 'python');

export interface Stack {
  webUrl: string;
  apiUrl: string;
  agentUrl: string;
  simUrl: string;
  token: string;
  databaseUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs SQL on the database server of `serverUrl` (psycopg from the project's venv). */
function adminSql(serverUrl: string, statement: string): void {
  const code = 'import psycopg, sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as c: c.execute(sys.argv[2])';
  execFileSync(python, ['-c', code, serverUrl, statement], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + name;
  return parsed.toString();
}

/** A child environment without the developer's OKX keys, tokens or strategy settings (as tests/helpers.base_env). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const drop = ['OKX', 'API_', 'AGENT_', 'STRATEGY_', 'DEEPSEEK', 'LLM_', 'BALANCE_', 'INITIAL_', 'RISK_', 'TRADE_', 'DATABASE_URL', 'WEB_PORT', 'PG_PORT'];
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!drop.some((prefix) => key.startsWith(prefix))) env[key] = value;
  return { ...env, PYTHONUNBUFFERED: '1', ...extra };
}

export async function startStack(extraEnv: Record<string, string> = {}): Promise<Stack> {
  const serverUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is not set: run through `make test` (or export it, see docs)');
  if (!fs.existsSync(path.join(frontendRoot, 'dist', 'index.html'))) throw new Error('frontend/dist is missing: build first (scripts/build.sh)');
  const dbName = `e2e_${process.pid}_${Date.now().toString(36)}`;
  adminSql(serverUrl, `create database "${dbName}"`);
  const databaseUrl = withDatabase(serverUrl, dbName);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aitrader-e2e-'));
  const envFile = path.join(tmp, 'run.env');
  const ports = { API_PORT: await freePort(), AGENT_PORT: await freePort(), OKXSIM_PORT: await freePort(), WEB_PORT: await freePort() };
  const env = cleanEnv({
    DATABASE_URL: databaseUrl,
    AITRADER_ENV_FILE: envFile,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    ...extraEnv,
  });
  const child: ChildProcess = spawn(python, [path.join(repoRoot, 'scripts', 'run.py')], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // run.py stops every service it started on Ctrl-C
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(timer);
    }
    try {
      adminSql(serverUrl, `drop database if exists "${dbName}" with (force)`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  };

  const deadline = Date.now() + 90_000;
  while (!/^Access token: (\S+)$/m.test(output)) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`scripts/run.py exited with ${child.exitCode}:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`scripts/run.py printed no access token within 90 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const token = /^Access token: (\S+)$/m.exec(output)![1]!;
  return {
    webUrl: `http://127.0.0.1:${ports.WEB_PORT}`,
    apiUrl: `http://127.0.0.1:${ports.API_PORT}`,
    agentUrl: `http://127.0.0.1:${ports.AGENT_PORT}`,
    simUrl: `http://127.0.0.1:${ports.OKXSIM_PORT}`,
    token,
    databaseUrl,
    output: () => output,
    stop,
  };
}
