// @ts-check
// `npm run lint`: typed linting over every TypeScript file jest and tsc see (tsconfig.test.json is the
// one program that includes the services, shared, scripts and tests, so types are built once; the
// console has its own DOM/JSX program). Run after `tsc -b`: @triage/shared resolves to its built
// declarations.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.cache/**', '.data/**', 'models/**', 'training/**'],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json', './console/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // a closure that reads the variable before its one assignment cannot take a const
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // async methods that implement a Promise-returning interface without awaiting are fine
      '@typescript-eslint/require-await': 'off',
      'no-console': 'error',
    },
  },
  {
    // JSX event handlers may be async: Preact ignores what they return.
    files: ['console/src/**/*.tsx'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }] },
  },
  {
    // Entry points and CLIs talk to a terminal.
    files: ['scripts/src/**/*.ts', 'tests/support/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // supertest bodies and parsed fixtures are `any` by design; tests may print what they measured.
    // The promise rules (no-floating-promises, no-misused-promises) still apply.
    files: ['**/*.test.ts', 'tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-console': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
);
