import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheDir, findOnPath, installOnce, pathExists, runInstallCommand } from './cache-dir';

/** Newest tag that `go install` can still build (later ones use replace directives). */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Stamped in so `temporal --version` says 1.5.1 instead of 0.0.0-DEV.
const VERSION_VAR = 'github.com/temporalio/cli/temporalcli.Version';
const BINARY = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

/** Value for the Temporal SDK's `server.executable` option (structurally the SDK's EphemeralServerExecutable). */
export type ServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/**
 * Absolute path of a Temporal CLI: $TIDEMARK_TEMPORAL_CLI, else the cached build, else a fresh
 * `go install` into the cache. Undefined when Go is missing, so callers use the SDK's download.
 */
export async function ensureTemporalCli(): Promise<string | undefined> {
  const override = process.env.TIDEMARK_TEMPORAL_CLI;
  if (override) return checkExecutable(override, 'TIDEMARK_TEMPORAL_CLI');

  const dir = path.join(cacheDir(), 'temporal-cli', TEMPORAL_CLI_VERSION);
  const bin = path.join(dir, BINARY);
  if (await pathExists(bin)) return bin;

  const go = await findOnPath('go');
  if (!go) return undefined;
  process.stderr.write(
    `tidemark: installing Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (first run only, a few minutes)…\n`,
  );
  await installOnce(dir, async (tmpDir) => {
    const args = ['install', `-ldflags=-s -w -X ${VERSION_VAR}=${TEMPORAL_CLI_VERSION}`, `${MODULE}@v${TEMPORAL_CLI_VERSION}`];
    try {
      await runInstallCommand(go, args, { env: { ...process.env, GOBIN: tmpDir } });
    } catch (err) {
      throw new Error(
        `Installing the Temporal CLI failed: ${(err as Error).message}\n` +
          `Install Go ≥1.25 (or let GOTOOLCHAIN=auto fetch it), or set TIDEMARK_TEMPORAL_CLI to a temporal binary.`,
        { cause: err },
      );
    }
    if (!(await pathExists(path.join(tmpDir, BINARY)))) {
      throw new Error(`go install finished but produced no ${BINARY} in ${tmpDir}`);
    }
  });
  return bin;
}

/** For the SDK's `server.executable` (dev server / `TestWorkflowEnvironment.createLocal`). */
export async function devServerExecutable(): Promise<ServerExecutable> {
  const bin = await ensureTemporalCli();
  return bin ? { type: 'existing-path', path: bin } : { type: 'cached-download' };
}

export async function checkExecutable(file: string, envName: string): Promise<string> {
  const abs = path.resolve(file);
  try {
    await fs.access(abs, fs.constants.X_OK);
  } catch {
    throw new Error(`${envName}=${file}: not an executable file; fix the path or unset ${envName}`);
  }
  return abs;
}
