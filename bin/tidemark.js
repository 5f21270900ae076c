#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { setInterval, clearInterval } = require('node:timers');

const root = path.join(__dirname, '..');
const built = path.join(root, 'dist', 'cli', 'main.js');

/** Newest modification time of any file under `dir` (ms); a few ms for the whole source tree. */
function newest(dir) {
  let max = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return max;
}

// Compiled output (built by `npm ci` through `prepare`, and by the Docker image) starts in a fraction
// of the time; a checkout whose sources changed since the build runs them through tsx instead, so
// the CLI never runs a stale build. A production install has no tsx and always runs dist/.
function entry() {
  const src = path.join(root, 'src');
  if (!fs.existsSync(src)) return built;
  const builtAt = fs.existsSync(built) ? fs.statSync(built).mtimeMs : 0;
  if (builtAt >= newest(src)) return built;
  try {
    require('tsx/cjs');
    return path.join(src, 'cli', 'main.ts');
  } catch {
    return built;
  }
}

/** The command word of argv (`tidemark [--config F] <command> …`), skipping global options. */
function commandOf(argv) {
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--config') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return undefined;
}

// The worker's memory settings (issue 12: ≤ 200 MB peak RSS through a 5M-row backfill). V8 reads heap flags
// and glibc reads MALLOC_ARENA_MAX only at process start, so `tidemark worker` starts itself once more with
// them, unless they are set already (that child, or a user's own NODE_OPTIONS / node flags). A 2 MB young
// generation frees each page's Buffers quickly instead of letting ~50 MB of them wait; two malloc arenas keep
// the native threads from holding one each. The old-space cap (TIDEMARK_WORKER_HEAP_MB) matters too: V8 lets
// garbage grow with it (5M rows: 160 MB peak RSS at 1024, 207 MB at 2048), and it must leave room for big pages
// (100000 rows of 1.1 KB through a mapping need ~600 MB: 512 aborts, 1024 completes). Default: 1024 MB, or
// node's own limit when that is lower. Under that cap V8 grows the old space only ~10 % past what is live and
// collects it all over again and again (a 1M-row backfill: 12-16 full collections, 1.2-1.9 s of CPU, against 2
// and 0.9 s with node's defaults); --heap-growing-percent=100 lets it double first: 5-6 collections, 0.8-0.9 s,
// peak RSS 173-180 MB at 5M rows, 171-175 before (issue 16).
function workerLaunch() {
  const HEAP_MB_DEFAULT = Math.min(1024, Math.floor(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20));
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS || ''}`;
  const raw = process.env.TIDEMARK_WORKER_HEAP_MB;
  const heapMb = raw === undefined || raw === '' ? HEAP_MB_DEFAULT : Number(raw);
  if (!Number.isInteger(heapMb) || heapMb < 64 || heapMb > 65536) {
    console.error(`TIDEMARK_WORKER_HEAP_MB=${raw}: must be a whole number of MB from 64 to 65536 (the worker's V8 old-space limit; default ${HEAP_MB_DEFAULT} here)`);
    process.exit(2);
  }
  const flags = [];
  if (!/--max-old-space-size\b/.test(given)) flags.push(`--max-old-space-size=${heapMb}`);
  if (!/--max-semi-space-size\b/.test(given)) flags.push('--max-semi-space-size=2');
  if (!/--heap-growing-percent\b/.test(given)) flags.push('--heap-growing-percent=100');
  const env = { ...process.env, TIDEMARK_LAUNCHER_PID: String(process.pid) };
  if (!process.env.MALLOC_ARENA_MAX) env.MALLOC_ARENA_MAX = '2';
  // Already started with our flags (the child), the user chose the heap, or a debugger is attached here: run here.
  if (flags.length === 0 || /--max-old-space-size\b|--inspect/.test(given)) return false;
  // Own process group: a terminal's Ctrl-C reaches only this process, which passes it on once (a second
  // SIGINT would stop the worker at once instead of letting the running page commit).
  const child = require('node:child_process').spawn(process.execPath, [...process.execArgv, ...flags, __filename, ...process.argv.slice(2)], {
    env,
    stdio: 'inherit',
    detached: true,
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGHUP']) {
    process.on(sig, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig === 'SIGHUP' ? 'SIGTERM' : sig);
    });
  }
  child.on('error', (err) => {
    console.error(`tidemark worker: could not start ${process.execPath}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    // V8 aborts when the heap cap is reached ("JavaScript heap out of memory" above): say what to change.
    if (signal === 'SIGABRT') {
      console.error(`tidemark worker: the worker aborted; if it ran out of heap, raise TIDEMARK_WORKER_HEAP_MB (now ${heapMb}) or lower batchSize`);
    }
    process.exit(code ?? (signal ? 128 + (require('node:os').constants.signals[signal] || 0) : 1));
  });
  return true;
}

const launched = commandOf(process.argv) === 'worker' && workerLaunch();

// Started by npx / npm exec, tidemark is npm's grandchild, and npm does not pass SIGTERM on: when it
// dies, tidemark is re-parented. Treat that as SIGTERM, so a process manager that stops the command it
// started stops tidemark too (gracefully: a worker commits its running batch first; a launcher passes
// the SIGTERM on). The worker child of a launcher follows its launcher instead: a launcher always waits for
// it, so it only disappears when killed outright (SIGKILL, OOM killer), and the worker then dies the same
// way, at once, as a `kill -9` of the process one started is expected to do.
const underLauncher = !launched && Number(process.env.TIDEMARK_LAUNCHER_PID) === process.ppid;
if (underLauncher || process.env.npm_command) {
  const parent = process.ppid;
  // A stop signal that already reached tidemark (a SIGTERM to npx's process group reaches both) is the stop: the
  // parent's exit that follows is not another one (the review: a second SIGTERM read as "second signal").
  let signalled = false;
  if (!underLauncher) {
    for (const sig of ['SIGINT', 'SIGTERM']) {
      const note = () => {
        signalled = true;
        // A command with no handler of its own dies of the signal, as it would without this listener.
        if (process.listenerCount(sig) === 1) {
          process.removeListener(sig, note);
          process.kill(process.pid, sig);
        }
      };
      process.prependListener(sig, note);
    }
  }
  const watch = setInterval(
    () => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      if (!signalled) process.kill(process.pid, underLauncher ? 'SIGKILL' : 'SIGTERM');
    },
    underLauncher ? 100 : 500,
  );
  watch.unref();
}

if (!launched) {
  require(entry())
    .main(process.argv)
    .catch((err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
