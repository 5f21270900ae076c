import { describe, expect, it } from 'vitest';
import { blockedLine } from '../../src/cli/blocked-lines';

describe('status: the waiting line', () => {
  it('names each holder, a prepared transaction (pid 0) by what ends it, and a lock released since', () => {
    const base = { pid: 41, app: 'tm:0123456789abcdef:2', waitedS: 75, prepared: false };
    expect(blockedLine({ ...base, blockers: [{ pid: 7, state: 'idle in transaction', app: 'psql', query: 'LOCK TABLE\n  t', xactS: 190 }] })).toBe(
      `the run's write (pid 41) has waited 1m15s for a lock held by pid 7 (idle in transaction for 3m10s, application psql, "LOCK TABLE t"): it goes on when that transaction ends`,
    );
    expect(blockedLine({ ...base, app: `${base.app}:source`, prepared: true, blockers: [] })).toBe(
      "the run's source read (pid 41) has waited 1m15s for a lock held by a prepared transaction (pg_prepared_xacts: COMMIT PREPARED or ROLLBACK PREPARED ends it): it goes on when that transaction ends",
    );
    // Another role's session: no state or query to show.
    expect(blockedLine({ ...base, blockers: [{ pid: 9, state: null, app: null, query: null, xactS: null }] })).toContain('held by pid 9: it goes on');
    // As PostgreSQL shows it to a role without pg_read_all_stats (acceptance L printed the placeholder as its query).
    expect(blockedLine({ ...base, blockers: [{ pid: 10, state: null, app: 'psql', query: '<insufficient privilege>', xactS: null }] })).toContain(
      "held by pid 10 (application psql, another role's session: its details need pg_read_all_stats): it goes on",
    );
    expect(blockedLine({ ...base, blockers: [] })).toContain('held by a session that has released it since');
  });
});
