import type pg from 'pg';
import type { PostgresSinkConfig } from '../config/schema';
import { quoteTable, splitTableName, type QualifiedName } from '../config/identifiers';
import type { ColumnSpec } from '../sources/source';
import { copyIn } from '../pg/copy-in';
import { copyOut } from '../pg/copy-out';
import { encodeCopyRows } from '../pg/copy-text';
import { PageLanes } from './page-lanes';
import { SinkSetupError } from './sink-errors';
import { prepareTarget } from './prepare-target';
import { deleteKeysSql, replaceGuardSql, TARGET_CHANGED } from './replace-rows';
import { dropUnchangedRows, pageKeys, targetRowsSql, type KeyColumn, type PageKeys } from './unchanged-rows';

export { SchemaDriftError, SinkSetupError } from './sink-errors';

/** The INSERT's row count from a multi-statement (simple-query) string, whose results come as an array. */
function insertedBy(res: pg.QueryResult | pg.QueryResult[]): number {
  return (Array.isArray(res) ? res : [res]).find((r) => r.command === 'INSERT')?.rowCount ?? 0;
}

const UNIQUE_VIOLATION = '23505';
/** "COPY FROM not supported with row-level security": a target with RLS that applies to this role takes rows only through INSERT. */
const FEATURE_NOT_SUPPORTED = '0A000';
/** Pages are replaced after one that wrote at least this share of its rows: few unchanged rows get rewritten. */
const REPLACE_FROM = 0.9;
/**
 * Replaced pages before one is upserted instead, to see whether pages still change: 8, then twice as many each
 * time they still do, up to 64 (an upserted page of changed rows costs about 1.7 replaced ones).
 */
const RECHECK_FIRST = 8;
const RECHECK_MAX = 64;

export type InTx = (client: pg.Client, result: BatchResult) => Promise<void>;

/**
 * The transaction's last work as literal SQL (no parameters; any rows it returns are ignored; it raises
 * to stop the COMMIT), given the page's result. A page into the target itself then takes one round trip: BEGIN,
 * COPY, this and COMMIT in one simple-query script (its COPY data in the middle); a staged page sends it
 * with the COMMIT. What a round trip cost: about a tenth of a durable backfill (issue 16).
 */
export interface ScriptedTx {
  sql: (result: BatchResult) => string;
}

export interface BatchResult {
  /** Rows inserted or changed; unchanged rows are not rewritten. */
  written: number;
}

/**
 * Writes batches into a PostgreSQL table: COPY into a temporary staging table, then one
 * INSERT … ON CONFLICT from it, in a transaction that also runs the caller's state updates
 * (the checkpoint), so a batch and the cursor that covers it commit together or not at all.
 * An initial load COPYs straight into the target; a re-sync first drops the rows whose text
 * equals the target's (unchanged-rows.ts); mostly changed pages are replaced (replace-rows.ts).
 */
export class PostgresSink {
  private readonly table: QualifiedName;
  private columns: string[] = [];
  private stage = '';
  private upsertSql = '';
  /** The same upsert without the rows equal to the target's (see upsertFromStageSql's skipUnchanged). */
  private skipUnchangedSql = '';
  /** The last staged page wrote under half its rows: the next one skips unchanged rows before ON CONFLICT. */
  private mostlyUnchanged = false;
  /** The key's columns, while pages of a re-sync are compared with the target's text first (see unchanged-rows.ts). */
  private textKey: KeyColumn[] | undefined;
  /** The size of the last target read, to size the next one's buffer. */
  private thereSize = 0;
  private copyColumns = '';
  /** COPY straight into the target until the first conflict (see prepare). */
  private direct = false;
  /** Why pages cannot be replaced (see replace-rows.ts), or undefined when they can. */
  private replaceBlocked: string | undefined = 'not prepared';
  /** What a replaced page's script starts with: the target locked and its shape checked again (replaceGuardSql). */
  private replaceGuard = '';
  /** The last upserted page wrote nearly all its rows (REPLACE_FROM): the next ones are replaced (DELETE of their keys + COPY). */
  private mostlyWritten = false;
  private replacedRun = 0;
  private checkAfter = RECHECK_FIRST;
  /** The keys of the page being written, when it is replaced (a page sent ahead must not share one: see replaceAhead). */
  private replacing: PageKeys | undefined;
  /** Why replaced pages cannot go ahead (another unique index or an exclusion constraint), or undefined. */
  private aheadBlocked: string | undefined = 'not prepared';
  /** Its connection and a second one, for pages sent ahead. */
  private readonly lanes: PageLanes;

  constructor(
    readonly client: pg.Client,
    private readonly cfg: PostgresSinkConfig,
    /** The integration (or instance) writing: state kept per integration (e.g. the source's last seen columns) is keyed by it. */
    readonly integration?: string,
  ) {
    this.table = splitTableName(cfg.table);
    this.lanes = new PageLanes(client);
  }

  async prepare(sourceColumns: readonly ColumnSpec[], opts: { allowDirect?: boolean; keyUniqueInPage?: boolean; continuesFrom?: string } = {}): Promise<void> {
    return this.prepareUnnamed(sourceColumns, opts).catch((err: unknown) => {
      throw this.privilegeNamed(err);
    });
  }

  private async prepareUnnamed(sourceColumns: readonly ColumnSpec[], opts: { allowDirect?: boolean; keyUniqueInPage?: boolean; continuesFrom?: string }): Promise<void> {
    const t = await prepareTarget(this.client, this.cfg, this.table, this.integration, sourceColumns, opts);
    [this.columns, this.stage, this.upsertSql, this.skipUnchangedSql, this.copyColumns] = [t.columns, t.stage, t.upsertSql, t.skipUnchangedSql, t.copyColumns];
    [this.textKey, this.replaceBlocked, this.aheadBlocked] = [t.textKey, t.replaceBlocked, t.aheadBlocked];
    [this.added, this.adopted] = [t.added, t.adopted];
    this.replaceGuard = t.replaceBlocked ? '' : replaceGuardSql(this.table, t.columns.length, this.cfg.key);
    // A page of new keys needs no upsert: COPY into the target is the same insert, at COPY speed (an
    // initial load, or new rows into a filled table). The first page with a key already there (or
    // repeated within the page) fails with a unique violation, rolls back whole, and from then on pages
    // go through the staged upsert, so a replayed page after a crash stays harmless.
    this.direct = opts.allowDirect !== false;
    this.mostlyUnchanged = false;
    this.mostlyWritten = false;
    [this.replacedRun, this.checkAfter] = [0, RECHECK_FIRST];
    this.replacing = undefined;
  }

  /**
   * A page sent on one of two connections while the page before it is still on the other, so the sink's server
   * works on one page while the worker learns how the other ended (issue 16: the one connection sat idle for a
   * quarter of a backfill between pages; see page-lanes.ts), or, for replaced pages, so that two backends
   * delete and insert at once (one was the bottleneck of a re-sync of changed rows, the other core idle a third
   * of the time). While pages go straight into the target (an initial load) or are replaced (see sendsAhead),
   * and only as a script: `tx` must fence its checkpoint on the page before (PageRecord.after), so the page
   * commits after that one or not at all; a page that fails here is simply written again the usual way
   * (writeCopy), which reports or handles its failure as always. Undefined when a page cannot go ahead now (see
   * sendsAhead and replaceAhead, or the second connection is not open yet: this opens it).
   */
  sendAhead(data: Buffer, count: number, tx: ScriptedTx): Promise<BatchResult> | undefined {
    if (!this.upsertSql || !this.sendsAhead) return undefined;
    const replace = this.direct ? undefined : this.replaceAhead(data, count);
    if (!this.direct && !replace) return undefined;
    const slot = this.lanes.ahead();
    if (!slot) return undefined;
    if (replace) [this.replacing, this.replacedRun] = [replace.keys, this.replacedRun + 1];
    const result = { written: count };
    // No BEGIN: a script of several statements is one transaction, rolled back whole by a failure, so the
    // connection is at once ready for what is queued behind it (a ROLLBACK sent later would come after that).
    const sql = `${slot.start}${replace ? `${replace.del}; ` : ''}COPY ${quoteTable(this.table)} (${this.copyColumns}) FROM STDIN; ${slot.wait}${tx.sql(result)}`;
    return copyIn(slot.on, sql, data).then(
      () => result,
      (err: unknown) => {
        this.lanes.failed(slot.on, err);
        throw err;
      },
    );
  }

  /**
   * Whether the next page may go ahead (see sendAhead): in a direct load, and while pages are replaced — the page
   * being written is replaced, the next would be too, and nothing but the key is unique in the target (replaceBlockers).
   */
  get sendsAhead(): boolean {
    return this.direct || (this.replacing !== undefined && !this.aheadBlocked && this.mostlyWritten && !this.replaceBlocked && this.replacedRun + 1 < this.checkAfter);
  }

  /**
   * The page as a replace sent ahead: its DELETE and keys, or undefined when it must wait its turn — a NULL or repeated
   * key (the staged upsert keeps the last row of a key), or a key the page being written has too. Pages with no key in
   * common touch no row in common, and nothing else in the target is unique, so neither waits for the other's
   * locks: the page ahead waits only at its end, for the page before it (no deadlock).
   */
  private replaceAhead(data: Buffer, count: number): { keys: PageKeys; del: string } | undefined {
    const before = this.replacing;
    const page = this.textKey && before ? this.replacement(data, count, this.textKey) : undefined;
    if (!page || !before) return undefined;
    for (const k of page.keys.rows.keys()) if (before.rows.has(k)) return undefined;
    return page;
  }

  /** A page's keys and the DELETE of their rows, or undefined when a key is NULL or repeats (the page is upserted: the last row of a key wins). */
  private replacement(data: Buffer, count: number, key: KeyColumn[]): { keys: PageKeys; del: string } | undefined {
    const keys = pageKeys(data, key.map((k) => k.index));
    if (keys.rows.size !== count || keys.starts.length !== count) return undefined;
    return { keys, del: `${this.replaceGuard}${deleteKeysSql(keys, quoteTable(this.table), key)}` };
  }

  /** Opens the second connection pages go ahead on (sendAhead's first call does); false when there is none. */
  openSecondConnection(): Promise<boolean> {
    return this.lanes.open();
  }

  /** Closes the second connection, if any (the first one is the caller's). */
  close(): void {
    this.lanes.close();
  }

  /** Columns sink.schemaChanges: add_columns added to the target when this sink prepared (none: it was not altered). */
  added: readonly ColumnSpec[] = [];
  /** Columns new in the source since the last run that the target already had (see reconcileColumns). */
  adopted: readonly ColumnSpec[] = [];

  /** Why mostly changed pages are upserted rather than replaced (see replace-rows.ts); undefined: they are replaced. */
  get replaceBlocker(): string | undefined {
    return this.replaceBlocked;
  }

  /** Whether batches currently go straight into the target (initial load) rather than through the upsert. */
  get directLoad(): boolean {
    return this.direct;
  }

  /** Rows as arrays of PostgreSQL text values, aligned with the prepared columns. */
  writeBatch(rows: ReadonlyArray<ReadonlyArray<string | null>>, alsoInTx: InTx): Promise<BatchResult> {
    return this.writeCopy(Buffer.from(encodeCopyRows(rows)), rows.length, alsoInTx);
  }

  /**
   * One transaction: the page (COPY text, `count` rows) into the target, then `alsoInTx` (checkpoint,
   * run counters), then commit. Initial load: COPY into the target itself; otherwise, or at the first
   * conflict (the whole transaction rolls back), COPY into staging and upsert from it.
   */
  async writeCopy(data: Buffer, count: number, alsoInTx: InTx | ScriptedTx): Promise<BatchResult> {
    return this.writeCopyUnnamed(data, count, alsoInTx).catch((err: unknown) => {
      throw this.privilegeNamed(err);
    });
  }

  /**
   * A privilege the sink's role lacks (42501), named with the role, the table and the grant: PostgreSQL says only
   * "permission denied for table orders3_copy" or "… to create temporary tables in database" (acceptance L). A
   * read-only session, a lock or statement timeout: the same error (retried), naming the database, role and target.
   */
  private privilegeNamed(err: unknown): unknown {
    const code = (err as { code?: unknown } | null)?.code;
    const [role, db, table] = [this.client.user ?? "tidemark's role", this.client.database ?? 'the database', `${this.table.schema}.${this.table.name}`];
    // Retried as before (a standby being promoted, a lock released), but saying which database and what to look at.
    const retried = (why: string) => Object.assign(new Error(`the sink database ${db} (role ${role}, target ${table}): ${(err as Error).message}: ${why}`, { cause: err }), { code });
    if (code === '55P03') return retried('a lock on the target was not granted within the role\'s lock_timeout (see pg_locks for who holds it)');
    if (code === '57014') return retried('the statement was cancelled: the role\'s or database\'s statement_timeout, or an operator\'s pg_cancel_backend');
    if (code !== '42501' || err instanceof SinkSetupError) return err;
    // Only what names the target (or the staging tables): a refusal on tidemark's own tables, in the page's transaction,
    // or a trigger's, or the target's row-level security, is not a grant on the target (review).
    const message = (err as Error).message;
    const onTarget = message.replace(/"/g, '') === `permission denied for table ${this.table.name}`;
    if (!onTarget && !/temporary tables/i.test(message)) return err;
    const grant = /temporary/i.test((err as Error).message)
      ? `GRANT TEMPORARY ON DATABASE ${db} TO ${role} (pages are upserted through a temporary staging table)`
      : `GRANT SELECT, INSERT, UPDATE ON ${table} TO ${role} (DELETE too for deletes and verify --delete; ownership for sink.schemaChanges: add_columns)`;
    return Object.assign(new SinkSetupError('sink.table', `the role ${role} lacks a privilege the target ${table} needs (${message}): ${grant}`), { cause: err, code });
  }

  private async writeCopyUnnamed(data: Buffer, count: number, alsoInTx: InTx | ScriptedTx): Promise<BatchResult> {
    if (!this.upsertSql) throw new Error('PostgresSink.prepare() must run before writing');
    this.replacing = undefined; // set again (before the first await) if this page is replaced
    if (this.direct) {
      try {
        const into = `${quoteTable(this.table)} (${this.copyColumns})`;
        if (typeof alsoInTx !== 'function') return await this.inOneScript(into, data, { written: count }, alsoInTx);
        return await this.inTx(async (begin) => {
          await this.copyIn(into, data, begin);
          return { written: count };
        }, alsoInTx);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== UNIQUE_VIOLATION && code !== FEATURE_NOT_SUPPORTED) throw err;
        if (code === FEATURE_NOT_SUPPORTED) this.replaceBlocked = `the target refuses COPY (${(err as Error).message})`;
        this.direct = false; // rows are there after all (or a key repeats within the page): upsert from now on
      }
    }
    if (this.mostlyUnchanged && this.textKey) {
      const result = await this.writeChangedRows(data, count, alsoInTx, this.textKey);
      if (result) return result;
    } else if (this.mostlyWritten && this.textKey && !this.replaceBlocked) {
      if (this.replacedRun < this.checkAfter) {
        const result = await this.replaced(data, count, alsoInTx, this.textKey);
        if (result) return (this.replacedRun++, result);
      } else {
        const result = await this.staged(data, count, alsoInTx, false);
        this.checkAfter = this.mostlyWritten ? Math.min(this.checkAfter * 2, RECHECK_MAX) : RECHECK_FIRST;
        this.replacedRun = 0;
        return result;
      }
    }
    return await this.staged(data, count, alsoInTx, this.mostlyUnchanged);
  }

  /**
   * A mostly changed page replaced: DELETE of its keys' rows and COPY into the target, in one transaction (see
   * replace-rows.ts). Undefined when the page must be upserted instead: a NULL or repeated key, a unique
   * violation (replacing then stops for good), or a value the server refuses as data (22xxx: the staged write
   * reports it as it always has).
   */
  private async replaced(data: Buffer, count: number, alsoInTx: InTx | ScriptedTx, key: KeyColumn[]): Promise<BatchResult | undefined> {
    const page = this.replacement(data, count, key);
    if (!page) return undefined;
    this.replacing = page.keys;
    const del = `${page.del}; `;
    const into = `${quoteTable(this.table)} (${this.copyColumns})`;
    const result = { written: count };
    try {
      if (typeof alsoInTx !== 'function') return await this.rollingBack(async () => (await this.copyIn(into, data, `${this.lanes.begin()}${del}`, `; ${alsoInTx.sql(result)}; COMMIT`), result));
      return await this.inTx(async (begin) => (await this.copyIn(into, data, `${begin}${del}`), result), alsoInTx);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === UNIQUE_VIOLATION) this.replaceBlocked = 'a page hit a unique violation';
      if (err instanceof Error && err.message.includes(TARGET_CHANGED)) this.replaceBlocked = `${TARGET_CHANGED} (a trigger, a foreign key to it, a rule, a column or a publication)`;
      if (code === FEATURE_NOT_SUPPORTED) this.replaceBlocked = `the target refuses COPY (${(err as Error).message})`;
      // No DELETE (or LOCK) privilege on the target or a partition, or too many partitions to lock: the upsert needs neither.
      if (code === '42501' || code === '53200') this.replaceBlocked = `replacing pages is refused here (${(err as Error).message})`;
      if (code === UNIQUE_VIOLATION || code === FEATURE_NOT_SUPPORTED || code === '42501' || code === '53200' || (typeof code === 'string' && code.startsWith('22'))) return undefined;
      throw err;
    }
  }

  /** COPY into staging and the upsert from it; `skip`: the statement that first drops rows equal to the target's. */
  private async staged(data: Buffer, count: number, alsoInTx: InTx | ScriptedTx, skip: boolean): Promise<BatchResult> {
    const result = await this.inTx(async (begin) => {
      await this.copyIn(`pg_temp.${this.stage} (${this.copyColumns})`, data, begin);
      return { written: skip ? insertedBy(await this.client.query(this.skipUnchangedSql)) : ((await this.client.query(this.upsertSql)).rowCount ?? 0) };
    }, alsoInTx);
    // Once committed: a bad-row probe (rolled back, a few of the page's rows) says nothing of the next page.
    this.learn(result.written, count);
    return result;
  }

  /**
   * A page of a re-sync: the target's rows with its keys are read first and rows equal to them dropped (see
   * unchanged-rows.ts); the rest, if any, goes through the plain upsert. Undefined when the page could not be
   * compared (no usable key, or the read failed, e.g. a key the key's type refuses): the caller stages it whole.
   */
  private async writeChangedRows(data: Buffer, count: number, alsoInTx: InTx | ScriptedTx, key: KeyColumn[]): Promise<BatchResult | undefined> {
    const indexes = key.map((k) => k.index);
    const keys = pageKeys(data, indexes);
    const sql = targetRowsSql(keys, quoteTable(this.table), this.columns, key);
    if (!sql) return undefined;
    let there: Buffer;
    try {
      there = (await copyOut(this.client, sql, this.thereSize)).data;
    } catch (err) {
      if ((err as { code?: unknown }).code === undefined) throw err; // not the server's refusal: the connection's
      return undefined;
    }
    this.thereSize = there.length;
    const rest = dropUnchangedRows(data, keys, there, indexes);
    if (rest.count === 0) return await this.withoutRows(alsoInTx);
    const result = await this.staged(rest.data, rest.count, alsoInTx, false);
    // Most rows unchanged, yet their text differed from the target's (another type, another format): the
    // comparison does not help this source, and the staged one is better on its own from now on.
    if (rest.count * 2 >= count && result.written * 2 < count) this.textKey = undefined;
    this.learn(result.written, count);
    return result;
  }

  /** What a committed page says of the next: mostly unchanged, compare it first; nearly all written, replace it. */
  private learn(written: number, count: number): void {
    if (count === 0) return; // an empty page says nothing of the next (0 >= 0 would read as "all written")
    this.mostlyUnchanged = written * 2 < count;
    this.mostlyWritten = written >= count * REPLACE_FROM;
  }

  /** A page with nothing to write: only its checkpoint and counters, in one round trip when they are a script. */
  private withoutRows(alsoInTx: InTx | ScriptedTx): Promise<BatchResult> {
    const result = { written: 0 };
    if (typeof alsoInTx !== 'function') return this.rollingBack(async () => (await this.client.query(`${this.lanes.begin()}${alsoInTx.sql(result)}; COMMIT`), result));
    return this.inTx(async (begin) => (await this.client.query(begin), result), alsoInTx);
  }

  /** COPY in a script: statements may come before and after it, run in order around its data. */
  private copyIn(into: string, data: Buffer, before = '', after = ''): Promise<void> {
    return copyIn(this.client, `${before}COPY ${into} FROM STDIN${after}`, data);
  }

  /** BEGIN, COPY, the page's last statement and COMMIT in one round trip (a failure stops the script). */
  private inOneScript(into: string, data: Buffer, result: BatchResult, tx: ScriptedTx): Promise<BatchResult> {
    return this.rollingBack(async () => {
      await this.copyIn(into, data, this.lanes.begin(), `; ${tx.sql(result)}; COMMIT`);
      return result;
    });
  }

  /** `write` starts with a COPY and sends `begin` before it; the last statement goes with the COMMIT when it is a script. */
  private inTx(write: (begin: string) => Promise<BatchResult>, alsoInTx: InTx | ScriptedTx): Promise<BatchResult> {
    return this.rollingBack(async () => {
      const result = await write(this.lanes.begin());
      if (typeof alsoInTx === 'function') {
        await alsoInTx(this.client, result);
        await this.client.query('COMMIT');
      } else await this.client.query(`${alsoInTx.sql(result)}; COMMIT`);
      return result;
    });
  }

  /** Runs a transaction's statements; on any failure rolls it back (best effort) and rethrows. */
  private async rollingBack<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
