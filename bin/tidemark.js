#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');

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

// Started by npx / npm exec, tidemark is npm's grandchild, and npm does not pass SIGTERM on: when it
// dies, tidemark is re-parented. Treat that as SIGTERM, so a process manager that stops the command it
// started stops tidemark too (gracefully: a worker commits its running batch first).
if (process.env.npm_command) {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  watch.unref();
}

require(entry())
  .main(process.argv)
  .catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
