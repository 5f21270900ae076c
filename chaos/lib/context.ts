/** What every scenario gets: real servers it may use, and how big to make things. */
export interface ChaosContext {
  /** host:port of a running Temporal server (the dev server in `npm run chaos` and in the tests) */
  temporalAddress: string;
  /** Superuser URL of a PostgreSQL on which scenarios create (and drop) their own databases. */
  adminUrl: string;
  /** Small sizes: the variants `npm test` runs. */
  quick: boolean;
  /** --rows: source rows of the worker-kill backfill (default 1M, quick 50k). */
  rows?: number;
  /** --kills: SIGKILLs during the worker-kill backfill (default 10, quick 2). */
  kills?: number;
  /** Progress for a human (stderr in the runner, silent in tests). */
  log(message: string): void;
}
