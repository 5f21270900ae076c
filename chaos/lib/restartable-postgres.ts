import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEmbeddedPostgres, type RunningPostgres } from '../../src/dev';

/**
 * An embedded PostgreSQL that can be stopped and started again on the same port with the same data
 * (a fixed port and a kept data directory), so clients see a real restart: their connections are
 * terminated (fast shutdown), new connections are refused while it is down, then work again.
 */
export class RestartablePostgres {
  private running: RunningPostgres | undefined;

  private constructor(
    private readonly root: string,
    readonly port: number,
  ) {}

  static async start(): Promise<RestartablePostgres> {
    const root = mkdtempSync(join(tmpdir(), 'tidemark-chaos-pg-'));
    chmodSync(root, 0o755); // as root, PostgreSQL runs as the postgres user, which must enter it
    const pg = new RestartablePostgres(root, await freePort());
    await pg.up();
    return pg;
  }

  /** postgres://postgres:postgres@127.0.0.1:PORT/postgres */
  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/postgres`;
  }

  get isUp(): boolean {
    return this.running !== undefined;
  }

  async up(): Promise<void> {
    this.running ??= await startEmbeddedPostgres({ dataDir: join(this.root, 'data'), port: this.port, persistent: true });
  }

  /** Fast shutdown (SIGINT): open sessions are terminated, transactions in flight roll back. */
  async down(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    await r?.stop();
  }

  async restart(downMs: number): Promise<void> {
    await this.down();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.up();
  }

  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.root, { recursive: true, force: true });
  }
}
