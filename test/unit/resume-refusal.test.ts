import { describe, expect, it } from 'vitest';
import { resumeRefusal, type ResumeFound } from '../../src/activities/resume-refusal';
import type { CheckpointRow, RunRow } from '../../src/db/state';

const run = (o: Partial<RunRow>): RunRow => ({ run_id: 'r', kind: 'backfill', status: 'failed', started_at: '2026-12-01 10:00:00+00', finished_at: null, attempts: '1', rows_read: '0', rows_committed: '0', rows_written: '0', rows_rejected: '0', rows_deleted: '0', pages: '0', shards: null, start_cursor: null, end_cursor: null, error: 'connect ECONNREFUSED', warnings: [], ...o });
const slot = (o: Partial<CheckpointRow>): CheckpointRow => ({ cursor: ['x', '1'], rowsDone: 500, owner: 'wf/resume-1', highWater: null, startCursor: null, untilCursor: null, status: 'running', updatedAt: '2026-12-01 11:00:00+00', cursorOf: null, ...o });

describe('resume refusal after a failed backfill', () => {
  it('refuses when the failed backfill began after the slot was last claimed (it failed before it made its own)', () => {
    const found: ResumeFound = { shards: [], backfill: slot({ status: 'done', owner: 'wf/old', updatedAt: '2026-11-30 09:00:00+00' }), latest: run({ run_id: 'wf/new', started_at: '2026-12-01 10:00:00+00' }) };
    expect(resumeRefusal('orders', found)).toMatch(/^the last backfill of "orders" \(2026-12-01 10:00:00\+00\) failed before it read a row \(connect ECONNREFUSED\): it left nothing to resume/);
  });

  it('resumes when a resume took the slot over after that failure and read since (the review: its progress was refused)', () => {
    const found: ResumeFound = { shards: [], backfill: slot({}), latest: run({ run_id: 'wf/a', started_at: '2026-12-01 10:00:00+00' }) };
    expect(resumeRefusal('orders', found)).toBeUndefined();
  });
});
