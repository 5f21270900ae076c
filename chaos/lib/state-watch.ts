import pg from 'pg';

/**
 * Polls tidemark's state in the sink database over one kept connection (fast enough to act within a
 * page), reconnecting after the server went away (postgres-restart). Reads answer 0 / false while the
 * database is unreachable or the state tables do not exist yet.
 */
export class StateWatch {
  private client: pg.Client | undefined;

  constructor(private readonly url: string) {}

  private async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    try {
      if (!this.client) {
        const c = new pg.Client({ connectionString: this.url, application_name: 'tidemark-chaos-watch' });
        c.on('error', () => undefined);
        await c.connect();
        this.client = c;
      }
      return (await this.client.query<T>(text, values)).rows;
    } catch (err) {
      const gone = !(err as { code?: string }).code || /^(57|08)/.test(String((err as { code?: string }).code));
      if (gone) await this.close();
      return [];
    }
  }

  /** rows_done of a checkpoint slot. */
  async committed(integration: string, slot = 'backfill'): Promise<number> {
    const [r] = await this.query<{ n: string }>('SELECT rows_done::text AS n FROM tidemark.checkpoints WHERE integration = $1 AND slot = $2', [integration, slot]);
    return Number(r?.n ?? 0);
  }

  /**
   * True while a tidemark run has a page transaction open (its state connection, named tm:<run>:<attempt>,
   * holds a transaction id: the page is being written and not yet committed).
   */
  async pageInFlight(): Promise<boolean> {
    const [r] = await this.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tm:%' AND backend_xid IS NOT NULL`,
    );
    return Number(r?.n ?? 0) > 0;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
