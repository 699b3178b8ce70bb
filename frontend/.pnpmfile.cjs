// openapi-typescript drives the TypeScript 5 compiler API (ts.factory), which TypeScript 7 — the
// native compiler this app type-checks with — no longer ships. A peer dependency would resolve to
// the app's TypeScript 7, so the generator gets its own TypeScript 5 as a plain dependency.
const GENERATOR_TYPESCRIPT = '5.9.3';

function readPackage(pkg) {
  if (pkg.name === 'openapi-typescript') {
    if (pkg.peerDependencies) delete pkg.peerDependencies.typescript;
    pkg.dependencies = { ...pkg.dependencies, typescript: GENERATOR_TYPESCRIPT };
  }
  return pkg;
}

module.exports = { hooks: { readPackage } };
