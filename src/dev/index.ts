export { cacheDir } from './cache-dir';
export { devServerExecutable, ensureTemporalCli, TEMPORAL_CLI_VERSION, type ServerExecutable } from './temporal-cli';
export { ensureTestServer, testServerExecutable, TEST_SERVER_VERSION } from './test-server';
export { startEmbeddedPostgres, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded-postgres';
export { startDevServer, type DevServerOptions, type RunningDevServer } from './dev-server';
export { startStack, type RunningStack, type StackOptions } from './stack';
export { freePort, isPortFree } from './free-port';
