// CommonJS syntax because the package is "type": "commonjs" (ESM syntax here makes Vite warn).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
import vitestConfig = require('vitest/config');

export = vitestConfig.defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs the Temporal CLI / test server once and starts one PostgreSQL for the whole run.
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Test files start real servers; forks isolate them, and the machines have 2 cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
