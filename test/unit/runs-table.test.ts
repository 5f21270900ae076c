import { describe, expect, it } from 'vitest';
import { runsTable } from '../../src/cli/runs-command';
import type { RunRow } from '../../src/db/state';

const run = (over: Partial<RunRow>): RunRow => ({
  run_id: 'r',
  kind: 'sync',
  status: 'completed',
  started_at: '2026-12-01 10:00:00.123+00',
  finished_at: '2026-12-01 10:00:02.5+00',
  attempts: '1',
  rows_read: '1200',
  rows_committed: '1200',
  rows_written: '1100',
  rows_rejected: '0',
  rows_deleted: '0',
  pages: '3',
  shards: null,
  start_cursor: '["2024-01-01 00:00:00+00", "7"]',
  end_cursor: '["2024-01-02 00:00:00+00", "1207"]',
  error: null,
  warnings: [],
  ...over,
});

describe('tidemark runs: the table', () => {
  it('aligns one line per run, times to the second, numbers to the right, cursors compact; error and warnings below their run', () => {
    const text = runsTable([
      run({}),
      run({ kind: 'backfill', status: 'failed', finished_at: null, rows_read: '0', rows_written: '0', pages: '0', start_cursor: null, end_cursor: null, error: 'source table public.nope does not exist', warnings: ['no index on (updated_at, id)'] }),
      run({ rows_read: '0', rows_committed: '0', rows_written: '0', pages: '0', end_cursor: null, rows_deleted: '5' }),
      // As the state table holds them: a JSON null (jsonb 'null'), not SQL NULL (an acceptance run still saw null → null).
      run({ status: 'failed', rows_read: '0', rows_committed: '0', rows_written: '0', pages: '0', start_cursor: 'null', end_cursor: 'null' }),
      // Sharded: the shards a run read; a resume continues each unfinished one from its own checkpoint (an acceptance
      // run read "(beginning)" for it, as if it had started over).
      run({ kind: 'backfill', status: 'failed', shards: '4', start_cursor: 'null' }),
      run({ kind: 'resume', shards: '3', start_cursor: 'null' }),
      run({ kind: 'resume', shards: '1', start_cursor: 'null' }),
    ]);
    expect(text.split('\n')).toEqual([
      'started              finished             kind                 status     attempts  read  committed  written  rejected  pages  cursor (start → end)',
      '2026-12-01 10:00:00  2026-12-01 10:00:02  sync                 completed         1  1200       1200     1100         0      3  ["2024-01-01 00:00:00+00","7"] → ["2024-01-02 00:00:00+00","1207"]',
      '2026-12-01 10:00:00  -                    backfill             failed            1     0       1200        0         0      0  (beginning) → (nothing committed)',
      '    error: source table public.nope does not exist',
      '    warning: no index on (updated_at, id)',
      '2026-12-01 10:00:00  2026-12-01 10:00:02  sync                 completed         1     0          0        0         0      0  ["2024-01-01 00:00:00+00","7"] → (nothing new)',
      // A sync that reconciled deletes (an acceptance run: 5 target rows deleted, nothing in `runs` said so).
      '    deleted: 5 target row(s) whose key the source no longer has (deletes)',
      '2026-12-01 10:00:00  2026-12-01 10:00:02  sync                 failed            1     0          0        0         0      0  (beginning) → (nothing committed)',
      '2026-12-01 10:00:00  2026-12-01 10:00:02  backfill (4 shards)  failed            1  1200       1200     1100         0      3  (beginning) → ["2024-01-02 00:00:00+00","1207"]',
      '2026-12-01 10:00:00  2026-12-01 10:00:02  resume (3 shards)    completed         1  1200       1200     1100         0      3  (the checkpoints of 3 shards) → ["2024-01-02 00:00:00+00","1207"]',
      '2026-12-01 10:00:00  2026-12-01 10:00:02  resume (1 shard)     completed         1  1200       1200     1100         0      3  (the checkpoints of 1 shard) → ["2024-01-02 00:00:00+00","1207"]',
    ]);
  });
});
