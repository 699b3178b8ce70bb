// openapi-typescript and typescript-eslint drive the TypeScript 5 compiler API (ts.factory, the
// parser services), which TypeScript 7 — the native compiler this app type-checks with — no longer
// ships. A peer dependency would resolve to the app's TypeScript 7, so these tools get their own
// TypeScript 5 as a plain dependency.
const TOOL_TYPESCRIPT = '5.9.3';
const NEEDS_TS5 = new Set([
  'openapi-typescript',
  'typescript-eslint',
  '@typescript-eslint/eslint-plugin',
  '@typescript-eslint/parser',
  '@typescript-eslint/typescript-estree',
  '@typescript-eslint/type-utils',
  '@typescript-eslint/utils',
  '@typescript-eslint/project-service',
  '@typescript-eslint/tsconfig-utils',
  'ts-api-utils',
]);

function readPackage(pkg) {
  if (NEEDS_TS5.has(pkg.name)) {
    if (pkg.peerDependencies) delete pkg.peerDependencies.typescript;
    pkg.dependencies = { ...pkg.dependencies, typescript: TOOL_TYPESCRIPT };
  }
  return pkg;
}

module.exports = { hooks: { readPackage } };
