import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands';
import { BIN } from '../helpers/cli';

/**
 * Issue 12: `tidemark --help` answers without loading Temporal, pg, zod, yaml… Each command loads what it
 * needs when it runs. The CLI runs as a user starts it (bin/tidemark.js: dist/ when fresh, else the
 * sources through tsx) with a preload that records every module the process required.
 */
const RECORDER = join(__dirname, '..', 'fixtures', 'record-loaded-modules.js');
const dir = mkdtempSync(join(tmpdir(), 'tm-startup-'));

/** What registering commands must not load: a file path contains one of these (either separator). */
const HEAVY = [
  'node_modules/@temporalio/',
  'node_modules/pg/',
  'node_modules/pg-copy-streams/',
  'node_modules/zod/',
  'node_modules/yaml/',
  'node_modules/cli-progress/',
  'node_modules/hono/',
  'node_modules/jsonata/',
].map((p) => p.split('/').join(sep));
const ROOT = join(__dirname, '..', '..');
/** Files of the project itself (src/ or dist/) allowed at start: the CLI's registration files only. */
const CLI_LIGHT = /[\\/](src|dist)[\\/]cli[\\/](main|commands|arg-parsers|lazy|dev|run-commands|[a-z-]+-command)\.(ts|js)$/;

let run = 0;
/** Runs node with the recorder preloaded; `argv` is what follows (a script and its arguments). */
async function loadedBy(argv: string[]): Promise<{ stdout: string; stderr: string; code: number | null; loaded: Record<string, string[]> }> {
  const file = join(dir, `loaded-${++run}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', RECORDER, ...argv], { cwd: ROOT, env: { ...process.env, TIDEMARK_LOADED_MODULES_FILE: file }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code, loaded: JSON.parse(readFileSync(file, 'utf8')) as Record<string, string[]> }));
  });
}

/** Heavy or non-CLI modules that were loaded, each with the module that required it (the one to make lazy). */
function offenders(loaded: Record<string, string[]>): string[] {
  const project = (f: string) => f.startsWith(join(ROOT, 'src') + sep) || f.startsWith(join(ROOT, 'dist') + sep);
  const bad = Object.keys(loaded).filter((f) => HEAVY.some((h) => f.includes(h)) || (project(f) && !CLI_LIGHT.test(f)));
  const by = (f: string) =>
    Object.entries(loaded)
      .filter(([, children]) => children.includes(f))
      .map(([parent]) => parent.replace(ROOT + sep, ''));
  // Only the ones a light module required (what the rest loaded follows from them), or all if none is.
  const roots = bad.filter((f) => by(f).some((p) => !bad.includes(join(ROOT, p))));
  return (roots.length ? roots : bad).map((f) => `${f.replace(ROOT + sep, '')} (required by ${by(f).join(', ') || '?'})`);
}

/** Every command path as typed: ['sync'], ['schedule', 'apply'], … */
function commandPaths(): string[][] {
  const program = new Command('tidemark');
  registerCommands(program);
  const walk = (cmd: Command, prefix: string[]): string[][] => cmd.commands.flatMap((c) => [[...prefix, c.name()], ...walk(c, [...prefix, c.name()])]);
  return walk(program, []);
}

/** The commands the user-facing contract names (a floor for the list registered in-process). */
const CONTRACT_COMMANDS = ['worker', 'sync', 'backfill', 'resume', 'status', 'cancel', 'checkpoint', 'tune', 'runs', 'dead-letters', 'verify', 'schedule', 'demo', 'dev', 'mock-api', 'codec-server'];

describe('tidemark --help loads no heavy module', () => {
  let paths: string[][];
  beforeAll(() => {
    paths = commandPaths();
  });

  it('the top-level help lists every command, and loads only the CLI registration and commander', async () => {
    const r = await loadedBy([BIN, '--help']);
    expect(r.code, r.stderr).toBe(0);
    const topLevel = [...new Set(paths.map((p) => p[0] as string))];
    expect(topLevel).toEqual(expect.arrayContaining(CONTRACT_COMMANDS));
    for (const name of topLevel) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(Object.keys(r.loaded).some((f) => f.includes(`${sep}commander${sep}`)), 'the recorder saw the CLI start').toBe(true);
    expect(offenders(r.loaded)).toEqual([]);
  });

  it("every command's --help (subcommands too) loads none of them either", async () => {
    // One process answers all of them (a start per command costs seconds on a shared machine): main() as
    // bin/tidemark.js calls it, on the sources through tsx; what any of them loaded shows in the union.
    const script = `require('tsx/cjs');
      const { main } = require('./src/cli/main.ts');
      (async () => { for (const p of JSON.parse(process.argv[1])) await main(['node', 'tidemark', ...p, '--help']); })();`;
    const r = await loadedBy(['-e', script, JSON.stringify(paths)]);
    expect(r.code, r.stderr).toBe(0);
    for (const p of paths) expect(r.stdout).toContain(`Usage: tidemark ${p.join(' ')} `);
    expect(Object.keys(r.loaded).some((f) => f.endsWith(join('src', 'cli', 'main.ts'))), 'the recorder saw the CLI start').toBe(true);
    expect(offenders(r.loaded)).toEqual([]);
  });
});
