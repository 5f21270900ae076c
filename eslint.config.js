// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** Layering (issue 12, "no back doors"): what a directory of src/ may not import, as relative-specifier regexes. */
const layer = (files, patterns) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: patterns.map(([regex, message]) => ({ regex, message })) }] },
});
const UP_TO = (dirs) => `^(\\.\\./)+(${dirs})(/|$)`;
const OTHER_SOURCES = (self) => [`(^|/)(${['http', 'csv', 'postgres'].filter((d) => d !== self).join('|')})(/|$)`, `a source does not import another source (${self}): share through src/util, src/pg or src/config`];
const SOURCE_RULES = [
  [UP_TO('activities|sinks|cli|ui|verify|db|workflows|worker|client'), 'sources sit below activities, sinks, db and the CLI: they use src/pg, src/util and src/config'],
];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', '.tidemark/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', __dirname: 'readonly', __filename: 'readonly', require: 'readonly', module: 'writable', setInterval: 'readonly', clearInterval: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is replayed and must be deterministic: it may import only @temporalio/workflow,
    // other workflow files, and types (erased at compile time) from anywhere else.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/workflow$|\\./)',
              allowTypeImports: true,
              message: 'workflows import only @temporalio/workflow and types (determinism); put I/O in an activity',
            },
          ],
        },
      ],
    },
  },
  layer(['src/pg/**/*.ts'], [['^\\.\\./(?!errors$)', 'src/pg is neutral PostgreSQL wire and connections: it imports only pg, pg-copy-streams, node built-ins and src/errors']]),
  layer(['src/util/**/*.ts'], [['^\\.\\./', 'src/util is neutral: it imports nothing else from src']]),
  layer(['src/config/**/*.ts'], [[UP_TO('sources|sinks|activities|db|pg|verify|cli|ui'), 'config does not reach into the runtime: pass what it needs in (e.g. parseConfig(raw, source, { sourceKinds }))']]),
  layer(['src/sources/**/*.ts'], SOURCE_RULES),
  layer(['src/sources/http/**/*.ts'], [...SOURCE_RULES, OTHER_SOURCES('http')]),
  layer(['src/sources/csv/**/*.ts'], [...SOURCE_RULES, OTHER_SOURCES('csv')]),
  layer(['src/sources/postgres/**/*.ts'], [...SOURCE_RULES, OTHER_SOURCES('postgres')]),
  layer(['src/sinks/**/*.ts'], [
    [UP_TO('activities|cli|ui|verify|workflows|worker|client'), 'sinks sit below activities and the CLI'],
    ['(^|/)db/(state-session|migrate)$', 'sinks write through the connection they are given; state sessions are opened by their callers'],
  ]),
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
