import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { prefixed } from '../../src/activities/failures';

class SourceGoneError extends Error {
  override name = 'SourceGoneError';
}

describe('a shard`s failure, named by its slot (prefixed)', () => {
  it('copies the failure with the prefix, keeping its type, retryability and stack; the original is untouched', () => {
    // One error shared by two shards (a token refresh both waited on) got both prefixes in place (the review).
    const shared = new SourceGoneError('connection refused');
    const a = prefixed(shared, 'shard backfill/1: ') as ApplicationFailure;
    const b = prefixed(shared, 'shard backfill/3: ') as ApplicationFailure;
    expect([a.message, b.message, shared.message]).toEqual(['shard backfill/1: connection refused', 'shard backfill/3: connection refused', 'connection refused']);
    expect(a).toBeInstanceOf(ApplicationFailure);
    expect([a.type, a.nonRetryable, a.stack]).toEqual(['SourceGoneError', false, shared.stack]);

    const permanent = ApplicationFailure.create({ message: 'bad config', type: 'HttpSourceError', nonRetryable: true, details: [1] });
    const p = prefixed(permanent, 'shard backfill/0: ') as ApplicationFailure;
    expect([p.message, p.type, p.nonRetryable, p.details]).toEqual(['shard backfill/0: bad config', 'HttpSourceError', true, [1]]);
    expect(permanent.message).toBe('bad config');
  });

  it('leaves a cancellation and a non-error as they are', () => {
    const cancelled = new CancelledFailure('cancelled');
    expect(prefixed(cancelled, 'shard backfill/1: ')).toBe(cancelled);
    expect(prefixed('text', 'shard backfill/1: ')).toBe('text');
  });
});
