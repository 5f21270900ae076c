import type { Client } from '@temporalio/client';

let guarded = false;

/**
 * Closes a CLI command's Temporal connection once its outcome is known. The client's gRPC retry interceptor
 * retries a failed call from a plain timer that no abort reaches: one that fires after the close throws "Channel
 * has been shut down" from that timer and crashed the CLI (exit 1) after it had printed a completed run (a CI run,
 * `backfill --wait` through a Temporal restart). That late retry is of a call nobody waits for any more; every
 * other uncaught error still ends the process as Node's default does.
 */
export async function closeClient(client: Client): Promise<void> {
  if (!guarded) {
    guarded = true;
    process.on('uncaughtException', (err) => {
      if (err instanceof Error && err.message === 'Channel has been shut down') return;
      console.error(err);
      process.exit(1);
    });
  }
  await client.connection.close().catch(() => undefined);
}
