import type { Client } from '@temporalio/client';
import { connectClient } from '../client';
import { closeClient } from '../cli/close-client';

/** Runs `fn` with the caller's Temporal client, or one connected from `env` (TEMPORAL_ADDRESS, …) and closed after. */
export async function withTemporal<T>(client: Client | undefined, env: NodeJS.ProcessEnv, fn: (client: Client) => Promise<T>): Promise<T> {
  if (client) return fn(client);
  const own = await connectClient(env);
  try {
    return await fn(own);
  } finally {
    await closeClient(own); // a late gRPC retry must not crash the command (see closeClient)
  }
}
