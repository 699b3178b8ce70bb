// Bundle budget: the JavaScript a browser must download before the app starts (the entry chunk
// and everything it imports statically, not the lazily loaded chunks such as the charts), gzipped,
// must stay within the budget. Reads the Vite manifest written by `vite build`.
// Usage: node scripts/bundle-budget.mjs [--budget-kb 250] [--json]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const args = process.argv.slice(2);
const budgetIndex = args.indexOf('--budget-kb');
const budgetKb = budgetIndex >= 0 ? Number(args[budgetIndex + 1]) : 250;
const asJson = args.includes('--json');
const KB = 1000;

const manifestPath = path.join(dist, '.vite', 'manifest.json');
if (!fs.existsSync(manifestPath)) {
  console.error(`budget: ${path.relative(root, manifestPath)} not found: run the build first (pnpm build)`);
  process.exit(2);
}
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const entries = Object.entries(manifest).filter(([, chunk]) => chunk.isEntry);
if (entries.length === 0) {
  console.error('budget: the manifest has no entry chunk');
  process.exit(2);
}

/** Entry chunks and, transitively, their static imports (dynamicImports are lazy and left out). */
const initial = new Set();
const visit = (key) => {
  if (initial.has(key)) return;
  const chunk = manifest[key];
  if (!chunk) return;
  initial.add(key);
  for (const imported of chunk.imports ?? []) visit(imported);
};
for (const [key] of entries) visit(key);

const gzipSize = (file) => zlib.gzipSync(fs.readFileSync(path.join(dist, file)), { level: 9 }).length;
const rows = [...initial]
  .map((key) => manifest[key].file)
  .filter((file) => file.endsWith('.js'))
  .map((file) => ({ file, bytes: fs.statSync(path.join(dist, file)).size, gzipBytes: gzipSize(file) }));
const lazy = Object.values(manifest)
  .filter((chunk) => chunk.file.endsWith('.js') && !rows.some((row) => row.file === chunk.file))
  .map((chunk) => ({ file: chunk.file, gzipBytes: gzipSize(chunk.file) }));
const total = rows.reduce((sum, row) => sum + row.gzipBytes, 0);
const ok = total <= budgetKb * KB;

if (asJson) {
  console.log(JSON.stringify({ initialGzipBytes: total, budgetBytes: budgetKb * KB, ok, initial: rows, lazy }));
} else {
  for (const row of rows) console.log(`initial  ${row.file}  ${(row.bytes / KB).toFixed(1)} kB  gzip ${(row.gzipBytes / KB).toFixed(1)} kB`);
  for (const row of lazy) console.log(`lazy     ${row.file}  gzip ${(row.gzipBytes / KB).toFixed(1)} kB`);
  console.log(`initial JavaScript (gzip): ${(total / KB).toFixed(1)} kB of ${budgetKb} kB budget — ${ok ? 'OK' : 'OVER BUDGET'}`);
}
process.exit(ok ? 0 : 1);
