/**
 * The Prometheus text exposition format (version 0.0.4), for a handful of gauges: small enough to write
 * directly, so the worker needs no metrics library besides the SDK's own exporter.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

export interface Gauge {
  name: string;
  help: string;
  /** `counter` for a value that only grows (its name ends in _total); default gauge. */
  type?: 'gauge' | 'counter';
  samples: GaugeSample[];
}

/** Label values escape backslash, double quote and newline; HELP text backslash and newline. */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function renderGauges(gauges: Gauge[]): string {
  const out: string[] = [];
  for (const g of gauges) {
    out.push(`# HELP ${g.name} ${g.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${g.name} ${g.type ?? 'gauge'}`);
    for (const s of g.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
      out.push(`${g.name}${labels.length ? `{${labels.join(',')}}` : ''} ${numberText(s.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
