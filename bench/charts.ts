import type { PathResult, ScalingPoint } from './report';

/** Hand-written SVG charts: no dependencies, readable as text, rendered by any browser or GitHub. */

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function short(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function colorOf(r: PathResult): string {
  if (r.id === 'limit') return '#6b7280';
  if (r.id === 'tidemark') return '#2563eb';
  if (r.id === 'naive') return '#dc2626';
  if (r.prototype) return '#f59e0b';
  return '#0d9488';
}

/** Horizontal bars: rows/s of every measured path, the limit as a dashed line. */
export function throughputSvg(results: PathResult[], title: string): string {
  const bars = results.filter((r) => r.status === 'ok' && r.rowsPerSec);
  const labelW = 420;
  const chartW = 520;
  const rowH = 26;
  const top = 72;
  const height = top + bars.length * rowH + 44;
  const width = labelW + chartW + 120;
  const max = niceMax(Math.max(...bars.map((b) => b.rowsPerSec!), 1));
  const x = (v: number) => labelW + (v / max) * chartW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="16" y="24" font-size="15" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="16" y="42" fill="#555">rows/s, median of the runs (label: ratio to the limit). grey = limit (COPY pipe), blue = tidemark through Temporal,</text>`);
  parts.push(`<text x="16" y="58" fill="#555">teal = tidemark's loop without Temporal (bare, upserts, mapping), red = naive, amber = bench-only prototypes</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    parts.push(`<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${top + bars.length * rowH}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${x(v)}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${short(v)}</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const label = `${b.label}${b.ratioToLimit !== undefined && b.id !== 'limit' ? ` (${b.ratioToLimit.toFixed(2)})` : ''}`;
    parts.push(`<text x="${labelW - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(label)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${Math.max(x(b.rowsPerSec!) - labelW, 1)}" height="${rowH - 8}" fill="${colorOf(b)}" rx="2"/>`);
    parts.push(`<text x="${x(b.rowsPerSec!) + 6}" y="${y + rowH / 2 + 4}" fill="#111">${short(b.rowsPerSec!)}</text>`);
  });
  const limit = bars.find((b) => b.id === 'limit');
  if (limit) {
    parts.push(`<line x1="${x(limit.rowsPerSec!)}" y1="${top - 4}" x2="${x(limit.rowsPerSec!)}" y2="${top + bars.length * rowH}" stroke="#6b7280" stroke-dasharray="4 3"/>`);
  }
  parts.push(`<text x="${labelW + chartW / 2}" y="${height - 8}" text-anchor="middle" fill="#555">rows per second (label: ratio to limit)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Seconds against rows, log-log (sizes span 100k to 5M): a straight line of slope 1 is linear scaling. */
export function scalingSvg(points: ScalingPoint[], title: string): string {
  const width = 900;
  const height = 480;
  const m = { l: 70, r: 150, t: 64, b: 56 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const sizes = [...new Set(points.map((p) => p.rows))].sort((a, b) => a - b);
  const lx0 = Math.log10(Math.min(...sizes) / 1.5);
  const lx1 = Math.log10(Math.max(...sizes) * 1.5);
  const secs = points.map((p) => p.seconds);
  const ly0 = Math.floor(Math.log10(Math.min(...secs)) * 2) / 2 - 0.1;
  const ly1 = Math.ceil(Math.log10(Math.max(...secs)) * 2) / 2 + 0.1;
  const x = (r: number) => m.l + ((Math.log10(r) - lx0) / (lx1 - lx0)) * w;
  const y = (s: number) => m.t + h - ((Math.log10(s) - ly0) / (ly1 - ly0)) * h;
  const palette: Record<string, string> = { tidemark: '#2563eb', limit: '#6b7280', 'x-tidemark-dist-prebundled': '#f59e0b', 'x-tidemark-dist-prebundled-tuned': '#0d9488' };
  const extra = ['#7c3aed', '#dc2626', '#db2777'];
  const names: Record<string, string> = {
    limit: 'limit (COPY pipe)',
    tidemark: 'tidemark (bin/tidemark.js worker)',
    'x-tidemark-dist-prebundled': 'tidemark (compiled worker, prebuilt bundle)',
    'x-tidemark-dist-prebundled-tuned': 'tidemark (compiled, prebuilt bundle, tuned heap)',
  };
  const series = [...new Map(points.map((p) => [p.path, p.label])).entries()].map(([path, name], i) => ({ path, name: names[path] ?? name, color: palette[path] ?? extra[i % extra.length]! }));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="16" y="24" font-size="15" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="16" y="42" fill="#555">wall seconds against source rows, both axes logarithmic (parallel lines = same rows/s); labels: rows/s, worker peak RSS</text>`);
  for (const t of [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]) {
    const lt = Math.log10(t);
    if (lt < ly0 || lt > ly1) continue;
    parts.push(`<line x1="${m.l}" y1="${y(t)}" x2="${m.l + w}" y2="${y(t)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${m.l - 8}" y="${y(t) + 4}" text-anchor="end" fill="#555">${t}</text>`);
  }
  for (const r of sizes) {
    parts.push(`<line x1="${x(r)}" y1="${m.t}" x2="${x(r)}" y2="${m.t + h}" stroke="#f1f5f9"/>`);
    parts.push(`<text x="${x(r)}" y="${m.t + h + 18}" text-anchor="middle" fill="#555">${short(r)}</text>`);
  }
  parts.push(`<line x1="${m.l}" y1="${m.t + h}" x2="${m.l + w}" y2="${m.t + h}" stroke="#111"/>`);
  parts.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + h}" stroke="#111"/>`);
  parts.push(`<text x="${m.l + w / 2}" y="${height - 12}" text-anchor="middle" fill="#555">rows</text>`);
  parts.push(`<text x="18" y="${m.t + h / 2}" transform="rotate(-90 18 ${m.t + h / 2})" text-anchor="middle" fill="#555">seconds</text>`);
  const labels: { rows: number; y: number; text: string; color: string }[] = [];
  series.forEach((s, si) => {
    const pts = points.filter((p) => p.path === s.path).sort((a, b) => a.rows - b.rows);
    if (!pts.length) return;
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${x(p.rows)},${y(p.seconds)}`).join(' ')}"/>`);
    for (const p of pts) {
      parts.push(`<circle cx="${x(p.rows)}" cy="${y(p.seconds)}" r="4" fill="${s.color}"/>`);
      const extraText = p.workerPeakRssMb !== undefined ? `, ${Math.round(p.workerPeakRssMb)} MB` : '';
      labels.push({ rows: p.rows, y: y(p.seconds) + 4, text: `${short(p.rowsPerSec)}/s${extraText}`, color: s.color });
    }
    const ly = m.t + 14 + si * 18;
    parts.push(`<rect x="${m.l + 14}" y="${ly - 6}" width="14" height="4" fill="${s.color}"/>`);
    parts.push(`<text x="${m.l + 34}" y="${ly}">${esc(s.name)}</text>`);
  });
  // Labels to the right of each size's points, in the points' vertical order, never closer than a line apart.
  for (const size of sizes) {
    const col = labels.filter((l) => l.rows === size).sort((a, b) => a.y - b.y);
    const gap = 14;
    const mid = col.reduce((sum, l) => sum + l.y, 0) / Math.max(col.length, 1);
    let ys = col.map((l) => l.y);
    for (let i = 1; i < ys.length; i++) ys[i] = Math.max(ys[i]!, ys[i - 1]! + gap);
    // Re-centre the stack on the points it labels.
    const shift = mid - ys.reduce((a, b) => a + b, 0) / Math.max(ys.length, 1);
    ys = ys.map((v) => v + shift);
    col.forEach((l, i) => parts.push(`<text x="${x(size) + 10}" y="${ys[i]!.toFixed(1)}" fill="${l.color}">${esc(l.text)}</text>`));
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
