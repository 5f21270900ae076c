import type pg from 'pg';
import type { Integration } from '../../config';
import { stateDbUrlOf } from '../../config/sink-schema';
import { closeQuietly } from '../../pg/connect';
import { openStateSession } from '../../db/state-session';

/**
 * One connection per state database (an integration's sink), opened on first use and migrated once.
 * Every query of the pages goes through query(), which counts them: the tests check a view's count
 * does not grow with the number of integrations.
 */
export class StateDbs {
  private readonly clients = new Map<string, Promise<pg.Client>>();
  queries = 0;

  constructor(readonly env: NodeJS.ProcessEnv) {}

  /** The state database URL of an integration (its sink's, with `${…}` resolved from the UI's environment). */
  urlOf(it: Integration): string {
    return stateDbUrlOf(it, this.env);
  }

  async query<T extends Record<string, unknown>>(url: string, text: string, values: unknown[]): Promise<T[]> {
    return this.use(url, async (client) => {
      this.queries++;
      return (await client.query<T>(text, values)).rows;
    });
  }

  /**
   * The database's connection for `fn` alone (requests take turns: a pg client runs one query at a
   * time), for functions of db/state that take a client. `statements` counts them for query().
   */
  use<T>(url: string, fn: (client: pg.Client) => Promise<T>, statements = 0): Promise<T> {
    const turn = (this.turns.get(url) ?? Promise.resolve()).then(async () => {
      this.queries += statements;
      return fn(await this.client(url));
    });
    this.turns.set(url, turn.catch(() => undefined));
    return turn;
  }

  private readonly turns = new Map<string, Promise<unknown>>();

  private async client(url: string): Promise<pg.Client> {
    let c = this.clients.get(url);
    if (!c) {
      c = (async () => {
        const client = await openStateSession(url, { applicationName: 'tidemark-ui' });
        client.on('error', () => this.clients.delete(url));
        client.on('end', () => this.clients.delete(url));
        return client;
      })();
      c.catch(() => this.clients.delete(url));
      this.clients.set(url, c);
    }
    return c;
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map(async (c) => closeQuietly(await c.catch(() => undefined))));
  }
}

/** Integrations grouped by state database, so each view asks each database once for all of them. */
export function groupByDb(dbs: StateDbs, integrations: readonly Integration[]): { groups: Map<string, Integration[]>; unreachable: Map<string, string> } {
  const groups = new Map<string, Integration[]>();
  const unreachable = new Map<string, string>();
  for (const it of integrations) {
    try {
      const url = dbs.urlOf(it);
      groups.set(url, [...(groups.get(url) ?? []), it]);
    } catch (err) {
      unreachable.set(it.id, (err as Error).message);
    }
  }
  return { groups, unreachable };
}
