// ESLint (flat config): the recommended JavaScript and TypeScript rules, React's rules (eslint-plugin-react
// for JSX, eslint-plugin-react-hooks for the rules of hooks and the React Compiler's checks). Run by
// `pnpm lint` in scripts/test.sh; any finding fails the gate.
import js from '@eslint/js';
import react from 'eslint-plugin-react';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'e2e-artifacts', 'src/api/schema-*.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}', 'tests/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { react, 'react-hooks': reactHooks },
    settings: { react: { version: '19.0' } },
    rules: {
      ...react.configs.recommended.rules,
      ...react.configs['jsx-runtime'].rules,
      ...reactHooks.configs.recommended.rules,
      'react/prop-types': 'off', // TypeScript types the props
    },
  },
  {
    files: ['e2e/**/*.ts', 'scripts/**/*.{js,mjs}', '*.config.{js,ts}', 'vite.config.ts', '.pnpmfile.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['.pnpmfile.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
