#!/usr/bin/env node
'use strict';
// In a checkout, run the TypeScript sources through tsx so the CLI never runs a stale build;
// a production image ships only dist/ (npm run build) and no tsx.
const path = require('node:path');
const fs = require('node:fs');
const src = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
let entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(src)) {
  try {
    require('tsx/cjs');
    entry = src;
  } catch {
    /* tsx not installed (production install): fall back to dist */
  }
}
require(entry).main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
