// ESLint flat config (ESLint 10, typescript-eslint 8). Formatting is Prettier's job: eslint-config-prettier
// comes last and turns off every stylistic rule that would fight it.
//
//   npx eslint .            lint everything (type-aware rules on .ts, via tsconfig.json's project service)
//   npx prettier --check .  formatting
import { readdirSync } from 'node:fs';
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

// ---------------------------------------------------------------------------------------------------
// Boundaries (ADR 014). Three rules, all through no-restricted-imports, all failing `npm run lint`:
//
//  1. An app is entered through its index. Code outside apps/ (scripts/, test/, bin/) may import
//     `apps/<app>/src/index.js` and nothing else under an app's src/. Inside apps/, only the CLI may
//     import another app, and only its index; a service never imports another service (they talk
//     through Kafka events; shared code goes to libs/). libs/ never import apps/.
//  2. Pure cores import no framework and no I/O: the files in PURE_CORES below (and any
//     `*.domain.ts`) are plain functions over plain data. They may import @app/contracts, decimal.js,
//     luxon and other pure code; not NestJS, TypeORM, kafkajs, pg, node:fs/net/http/child_process, nor
//     the libs that do I/O (@app/ledger, @app/messaging, @app/platform, @app/http). Their specs are
//     exempt (a spec may read a fixture file).
//
// A later block's no-restricted-imports replaces an earlier one's for the same file, so every block
// lists all the patterns that apply to its files (appPatterns(app) is repeated in the pure blocks).
// scripts/boundaries.spec.ts lints deliberately wrong snippets at real paths to prove each rule bites.
// ---------------------------------------------------------------------------------------------------

// Every folder under apps/ is an app; a new one is covered without touching this file.
const APPS = readdirSync(new URL('./apps/', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);
const alternation = (names) => names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');

/** A deep import into one of `apps` (anything under its src/ other than src/index.js). */
const deepAppImport = (apps) => ({
  regex: `(^|/)(${alternation(apps)})/src/(?!index\\.js$)`,
  message:
    "boundary: import another app only through its index (apps/<app>/src/index.js), never a module under its src/; export what you need from that app's index.ts",
});
/** Any import of one of `apps`, index included: a service does not depend on another service. */
const anyAppImport = (apps) => ({
  regex: `(^|/)(${alternation(apps)})/src/`,
  message:
    'boundary: a service never imports another app (only apps/cli may, through its index): talk through a Kafka event or move the shared code into libs/',
});
/** What a file in apps/<app>/ may not import. */
const appPatterns = (app) => {
  const others = APPS.filter((a) => a !== app);
  return app === 'cli' ? [deepAppImport(others)] : [anyAppImport(others)];
};
const noAppsImports = {
  group: ['**/apps/**', 'apps/**'],
  message: 'boundary: libs/ must not depend on apps/: move the shared code into a lib',
};
// Framework and I/O: what a pure core (and libs/contracts) must not import.
const infraImports = {
  group: [
    '@nestjs/*',
    'typeorm',
    'typeorm/*',
    'kafkajs',
    'kafkajs/*',
    'pg',
    'pg/*',
    'pg-copy-streams',
    '@app/ledger',
    '@app/messaging',
    '@app/platform',
    '@app/http',
    ...['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'tls'].flatMap(
      (m) => [m, `node:${m}`],
    ),
  ],
  message:
    'boundary: a pure core (PURE_CORES in eslint.config.js, *.domain.ts, libs/contracts) imports no framework and no I/O: no NestJS, TypeORM, kafkajs, pg, node:fs/net/http/child_process, nor the I/O libs; keep the adapter in the service around it',
};

// The pure cores, per app: the decisions (classification, fee split, settlement amounts and terms,
// approval, calendars) that the services around them feed with data and whose results they write.
// Add a file here when you extract a core; name a new one `*.domain.ts` and it is covered anyway.
const PURE_CORES = {
  clearing: [
    'apps/clearing/src/fees/split.ts',
    'apps/clearing/src/fees/fee-calculator.ts',
    'apps/clearing/src/fees/fee-values.ts',
    'apps/clearing/src/fees/fee.types.ts',
    'apps/clearing/src/fees/fee-rule.ts',
  ],
  reconciliation: [
    'apps/reconciliation/src/matching/classify.ts',
    'apps/reconciliation/src/matching/match.types.ts',
    'apps/reconciliation/src/matching/internal-item-index.ts',
    'apps/reconciliation/src/statement/statement-line.ts',
    'apps/reconciliation/src/statement/parsers/*.parser.ts',
  ],
  settlement: [
    'apps/settlement/src/domain.ts',
    'apps/settlement/src/payout-domain.ts',
    'apps/settlement/src/approval/settlement-approval.ts',
    'apps/settlement/src/calendar/business-calendar.ts',
    'apps/settlement/src/calendar/calendar-date.ts',
    'apps/settlement/src/cycle/settlement-amount.ts',
    'apps/settlement/src/cycle/settlement-terms.ts',
    'apps/settlement/src/cycle/settlement-cycle.ts',
    'apps/settlement/src/scheduler/close-date.ts',
  ],
};
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const boundaryBlocks = [
  // Outside apps/: an app through its index only.
  {
    files: ['scripts/**/*.{ts,mts,js,mjs}', 'test/**/*.{ts,mts,js,mjs}', 'bin/**/*.{js,mjs}'],
    rules: restrict([deepAppImport(APPS)]),
  },
  // Inside an app: no other app (the CLI: other apps' indexes only).
  ...APPS.map((app) => ({ files: [`apps/${app}/**/*.{ts,js,mjs}`], rules: restrict(appPatterns(app)) })),
  { files: ['libs/**/*.{ts,js,mjs}'], rules: restrict([noAppsImports]) },
  // Pure cores: all of the above for their folder, plus no framework and no I/O.
  ...APPS.map((app) => ({
    files: [...(PURE_CORES[app] ?? []), `apps/${app}/**/*.domain.ts`],
    ignores: ['**/*.spec.ts'],
    rules: restrict([...appPatterns(app), infraImports]),
  })),
  {
    files: ['libs/**/*.domain.ts', 'libs/contracts/**/*.{ts,js,mjs}'],
    ignores: ['**/*.spec.ts'],
    rules: restrict([noAppsImports, infraImports]),
  },
];

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

  // Boundaries: see the comment on boundaryBlocks above.
  ...boundaryBlocks,

  prettier,
]);
