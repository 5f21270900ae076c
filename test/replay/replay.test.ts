import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../src/worker';

/**
 * Backfills run for days: a workflow change that replays an old history differently would break
 * every run in flight. Each recorded history (test/replay/histories/*.history, made by
 * record-histories.ts) must replay against today's workflow code without a determinism error.
 */
const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.history')).sort();

describe('workflow replay', () => {
  it('has a recorded history of every workflow kind', () => {
    const kinds = files.map((f) => f.replace(/\.history$/, ''));
    expect(kinds).toEqual(expect.arrayContaining(['sync', 'sync-deletes', 'backfill', 'backfill-sharded-tuned', 'backfill-resume', 'sync-failed', 'backfill-failed']));
  });

  it('replays each recorded history with the current workflow code', async () => {
    const histories = files.map((f) => ({ workflowId: `replay-${f}`, history: temporal.api.history.v1.History.decode(Buffer.from(readFileSync(join(dir, f), 'utf8'), 'base64')) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: 'tidemark-replay' }, histories)) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
