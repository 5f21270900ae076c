import { readFileSync } from 'node:fs';
import { CLIENT_JS } from './client-script';
import { STYLE } from './pages/layout';

export interface StaticFile {
  body: string;
  type: string;
}

/** htmx and uPlot from their npm packages (no CDN: the page works offline), read once. */
export function staticFiles(): Map<string, StaticFile> {
  const read = (spec: string) => readFileSync(require.resolve(spec), 'utf8');
  return new Map<string, StaticFile>([
    ['htmx.min.js', { body: read('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['uPlot.iife.min.js', { body: read('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['uPlot.min.css', { body: read('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }],
    ['ui.js', { body: CLIENT_JS, type: 'text/javascript; charset=utf-8' }],
    ['ui.css', { body: STYLE, type: 'text/css; charset=utf-8' }],
  ]);
}
