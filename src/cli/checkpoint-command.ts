import type { Command } from 'commander';
import type pg from 'pg';
import type { Integration } from '../config';
import type { Cursor } from '../cursor/cursor';
import { lazy } from './lazy';

/** A run holds the integration's lock: moving its checkpoint now would race its next page. */
export class IntegrationWritingError extends Error {
  override readonly name = 'IntegrationWritingError';
  constructor(readonly integration: string) {
    super(`${integration}: a run of this integration is writing (it holds the integration lock): cancel it first (\`tidemark cancel ${integration}\`), then move the checkpoint`);
  }
}

export class BadCursorArgumentError extends Error {
  override readonly name = 'BadCursorArgumentError';
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(`CURSOR_JSON ${value}: ${reason}; give the cursor as JSON, as \`tidemark checkpoint show\` prints it (e.g. '["2024-05-01 00:00:00+00","42"]')`);
  }
}

/** Validates a cursor against the integration's own source: its shape and its values in the source's types. */
async function checkCursor(integration: Integration, raw: string): Promise<Cursor> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new BadCursorArgumentError(raw, `not valid JSON (${(err as Error).message})`);
  }
  const unsafe = (await lazy('./unsafe-numbers')).unsafeNumberProblem(raw, value);
  if (unsafe) throw new BadCursorArgumentError(raw, unsafe);
  const { checkCursorWithSource } = await lazy('../sources/create-source');
  return checkCursorWithSource(integration.source, integration.id, value);
}

/** Moves the 'sync' checkpoint, or says what it would do without --yes; refuses while a run holds the lock. */
async function moveCheckpoint(integration: Integration, cursor: Cursor, yes: boolean): Promise<void> {
  const id = integration.id;
  const { stateUrl } = await lazy('./context');
  const { moveCheckpoint: move, showCursor: show } = await lazy('../db/move-checkpoint');
  const busy = () => new IntegrationWritingError(id);
  const { cursorIdentity } = await lazy('../sources/cursor-shape');
  const { before } = await move(stateUrl(integration), id, cursor, { applicationName: 'tidemark-cli', busy, apply: yes, cursorOf: cursorIdentity(integration.source) });
  const what = `the sync checkpoint of ${id} from ${show(before)} to ${show(cursor)}: the next sync (scheduled or not) reads ${cursor === null ? 'from the beginning' : `rows after ${show(cursor)}`}`;
  if (cursor !== null && (await (await lazy('../sources/create-source')).nothingAfter(integration.source, id, cursor))) {
    console.error(`note: the source has no row after ${show(cursor)} now: syncs read nothing until rows pass it (check the cursor if that is not meant)`);
  }
  if (!yes) {
    console.log(`would move ${what}`);
    console.error('nothing changed: run again with --yes to do it');
    process.exitCode = 1;
    return;
  }
  console.log(`moved ${what}`);
}

async function showCheckpoints(db: pg.Client, id: string, json: boolean): Promise<void> {
  const { listCheckpoints, slotStatusText } = await lazy('../db/state');
  const slots = await listCheckpoints(db, id);
  if (json) return console.log(JSON.stringify(slots, null, 2));
  if (!slots.length) return console.log(`${id}: no checkpoints yet (the next sync reads from the beginning)`);
  for (const s of slots) {
    console.log(`${s.slot.padEnd(12)} ${slotStatusText(s).padEnd(8)} cursor ${JSON.stringify(s.cursor)}, ${s.rowsDone} rows, owner ${s.owner ?? '-'}, updated ${s.updatedAt}`);
  }
}

export function registerCheckpoint(program: Command): void {
  const cmd = program.command('checkpoint').description("read or move an integration's checkpoint; the next run (scheduled or not) starts there");
  cmd
    .command('show <id>')
    .description('every checkpoint slot of <id> (sync, backfill, shards): cursor, status, owner, updated')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, c: Command) => {
      const { loadIntegration, stateUrl } = await lazy('./context');
      const { integration } = loadIntegration(c, id);
      const { withStateSession } = await lazy('../db/state-session');
      await withStateSession(stateUrl(integration), { applicationName: 'tidemark-cli' }, (db) => showCheckpoints(db, id, !!opts.json));
    });
  cmd
    .command('set <id> <cursor>')
    .description("move the sync checkpoint of <id> to CURSOR_JSON (checked against the source); the next sync reads rows after it")
    .option('--yes', 'do it (without: print what would change and exit 1)')
    .action(async (id: string, raw: string, opts: { yes?: boolean }, c: Command) => {
      const { integration } = (await lazy('./context')).loadIntegration(c, id);
      await moveCheckpoint(integration, await checkCursor(integration, raw), !!opts.yes);
    });
  cmd
    .command('reset <id>')
    .description('move the sync checkpoint of <id> to the beginning: the next sync reads everything')
    .option('--yes', 'do it (without: print what would change and exit 1)')
    .action(async (id: string, opts: { yes?: boolean }, c: Command) => {
      const { integration } = (await lazy('./context')).loadIntegration(c, id);
      await moveCheckpoint(integration, null, !!opts.yes);
    });
}
