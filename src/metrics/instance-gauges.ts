import type { StatusLine } from '../instances/status-all';
import { parseInstanceRef } from '../instances/instance-id';
import type { Gauge, GaugeSample } from './prometheus-text';

/** Every state `status --all` shows, so a dashboard can count instances per state. */
export const STATES = ['ok', 'failing', 'running', 'never-run', 'paused', 'needs_reauth'] as const;

function labelsOf(l: StatusLine): Record<string, string> {
  const ref = parseInstanceRef(l.id);
  return { integration: l.id, template: ref?.template ?? l.template ?? '', instance: ref?.instance ?? '' };
}

function gauge(name: string, help: string, lines: StatusLine[], value: (l: StatusLine) => number | null): Gauge {
  const samples: GaugeSample[] = [];
  for (const l of lines) {
    const v = value(l);
    if (v !== null) samples.push({ labels: labelsOf(l), value: v });
  }
  return { name, help, samples };
}

/**
 * The per-integration and per-instance gauges, from the same lines as `status --all --json` (one state query
 * per state database), labelled `integration` (`<template>/<instance>` for an instance), `template` and
 * `instance` (empty for a plain integration). A value that is unknown (never succeeded, a cursor that is not
 * a time) has no sample rather than a made-up one.
 */
export function instanceGauges(lines: StatusLine[]): Gauge[] {
  return [
    gauge('tidemark_last_success_timestamp_seconds', 'Unix time the last run that did its work (completed, or partial at its time budget) finished.', lines, (l) => (l.lastSuccess ? Date.parse(l.lastSuccess.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')) / 1000 : null)),
    gauge('tidemark_lag_seconds', 'How far the target is behind the source: seconds since the newest cursor time committed, or since the bound the last sync read to when it finished; when either is a time.', lines, (l) => l.lagSeconds),
    gauge('tidemark_consecutive_failures', 'Failed runs since the last completed (or partial) one.', lines, (l) => l.consecutiveFailures),
    gauge('tidemark_last_run_rows', 'Rows committed by the latest run.', lines, (l) => l.lastRows),
    gauge('tidemark_dead_letters_pending', 'Dead letters not retried yet (records the runs went on without).', lines, (l) => l.deadLetters),
    {
      name: 'tidemark_state',
      help: `1 for the integration's current state (${STATES.join(', ')}), as status --all shows it.`,
      samples: lines.map((l) => ({ labels: { ...labelsOf(l), state: l.state }, value: 1 })),
    },
  ];
}
