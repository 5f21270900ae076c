import { describe, expect, it } from 'vitest';
import { lastRunLine } from '../../src/cli/run-progress';

describe("status: the last run's line", () => {
  it('says how many records went to dead letters, and where to see them (an acceptance run: "completed, 3 rows" hid one)', () => {
    const run = { kind: 'sync', status: 'completed', rows_committed: '5', started_at: '2026-12-02 10:00:00+00', error: null };
    expect(lastRunLine('crm', { ...run, rows_rejected: '1' })).toBe('sync completed, 5 rows, 1 refused into dead letters (`tidemark dead-letters crm`), started 2026-12-02 10:00:00+00');
    expect(lastRunLine('crm', { ...run, rows_rejected: '0' })).toBe('sync completed, 5 rows, started 2026-12-02 10:00:00+00');
    expect(lastRunLine('crm', { ...run, status: 'failed', rows_rejected: '0', error: 'boom' })).toBe('sync failed, 5 rows, started 2026-12-02 10:00:00+00, error: boom');
  });
});
