/** Display helpers for the pages: durations, ages, numbers (plain text; the templates escape it). */
export function duration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${duration((now - t) / 1000)} ago` : '—';
}

export function until(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `in ${duration((t - now) / 1000)}` : '—';
}

export function count(n: number | null | undefined): string {
  return n === undefined || n === null ? '—' : Math.round(n).toLocaleString('en-US');
}

/** "2024-05-01 10:00:00.123+00" from PostgreSQL text, to a UTC minute for tables. */
export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 19).replace('T', ' ') : '—';
}
