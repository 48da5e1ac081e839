// ESLint flat config (ESLint 10, typescript-eslint 8). Formatting is Prettier's job: eslint-config-prettier
// comes last and turns off every stylistic rule that would fight it.
//
//   npx eslint .            lint everything (type-aware rules on .ts, via tsconfig.json's project service)
//   npx prettier --check .  formatting
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const MONEY = 'money is never a JS number: use Money / decimal.js';

// Node's globals for plain .js/.mjs scripts (the `globals` package is not a dependency).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextEncoder',
    'TextDecoder',
    'AbortController',
    'AbortSignal',
    'fetch',
    'performance',
    'queueMicrotask',
    'structuredClone',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
  ].map((g) => [g, 'readonly']),
);

// Infrastructure packages that pure domain code and the shared contracts must not depend on.
const infraImports = {
  group: ['@nestjs/*', 'typeorm', 'typeorm/*', 'kafkajs', 'kafkajs/*', 'pg', 'pg/*'],
  message:
    'domain code and libs/contracts stay framework-free: no NestJS, TypeORM, kafkajs or pg here ' +
    '(put the adapter in an infrastructure module)',
};
const noAppsImports = {
  group: ['**/apps/**', 'apps/**'],
  message: 'libs/ must not depend on apps/: move the shared code into a lib',
};

export default defineConfig([
  globalIgnores(['**/dist/', '**/.cache/', '**/node_modules/', '**/coverage/', 'docs/', 'tmp/']),

  js.configs.recommended,

  // Everything: a few rules that matter for correctness.
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }], // `x == null` (null or undefined) stays allowed
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },

  // Plain JavaScript (scripts/*.mjs, config files): Node ESM, no type information.
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: nodeGlobals },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },

  // TypeScript: recommended + type-checked rules, type information from tsconfig.json.
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Exhaustive switches over status/direction unions; a `default:` branch counts as exhaustive.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
    },
  },

  // Tests: jest's expect(mock.fn) and loose async helpers are fine there.
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },

  // Money: application and library code never parses amounts into floating point.
  {
    files: ['apps/**/*.{ts,js,mjs}', 'libs/**/*.{ts,js,mjs}'],
    rules: {
      'no-restricted-globals': ['error', { name: 'parseFloat', message: MONEY }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='Number'][property.name='parseFloat']", message: MONEY },
        {
          selector: "MemberExpression[object.name='globalThis'][property.name='parseFloat']",
          message: MONEY,
        },
      ],
    },
  },

  // Dependency direction. (A later block's no-restricted-imports replaces an earlier one for the same
  // file, so every block lists all the patterns that apply to its files.)
  {
    files: ['libs/**/*.{ts,js,mjs}'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noAppsImports] }] },
  },
  {
    files: ['apps/**/*.domain.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [infraImports] }] },
  },
  {
    files: ['libs/**/*.domain.ts', 'libs/contracts/**/*.{ts,js,mjs}'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noAppsImports, infraImports] }] },
  },

  prettier,
]);
