// CommonJS syntax because the package is "type": "commonjs" (ESM syntax here makes Vite warn).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
import vitestConfig = require('vitest/config');

/**
 * Two tiers: `unit` (pure code and workflow replay, no servers, seconds: `npm run test:unit`) and `servers` (everything
 * that needs PostgreSQL or Temporal; its global setup installs the Temporal binaries once and starts
 * one PostgreSQL that each test file carves its own database out of). `npm test` runs both.
 */
export = vitestConfig.defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Test files start real servers; forks isolate them, and the machines have 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'servers',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', 'test/replay/**', '**/node_modules/**'],
          globalSetup: ['test/setup/global-setup.ts'],
        },
      },
    ],
  },
});
