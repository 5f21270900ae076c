import { ApplicationFailure } from '@temporalio/workflow';
import type { Cursor } from '../cursor/cursor';

/**
 * Workflow input checks, by hand: workflow code imports only @temporalio/workflow and types, so no zod.
 * A bad input fails the workflow at once, non-retryable, naming the field.
 */
export interface SyncInput {
  integration: string;
}

export interface BackfillInput {
  integration: string;
  from?: Cursor;
  shards?: number;
  /** Continue the integration's last backfill from its checkpoint instead of starting afresh. */
  resume?: boolean;
}

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function invalid(message: string): never {
  throw ApplicationFailure.nonRetryable(`invalid workflow input: ${message}`, 'InvalidWorkflowInput');
}

function asObject(raw: unknown, allowed: string[], example: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid(`expected an object like ${example}, got ${JSON.stringify(raw) ?? 'nothing'}`);
  const obj = raw as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length) invalid(`unknown field(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  if (typeof obj.integration !== 'string' || !ID.test(obj.integration)) {
    invalid(`integration: must be an integration id matching [a-z0-9][a-z0-9_-]*, got ${JSON.stringify(obj.integration) ?? 'nothing'}`);
  }
  return obj;
}

export function parseSyncInput(raw: unknown): SyncInput {
  const obj = asObject(raw, ['integration'], '{"integration": "orders"}');
  return { integration: obj.integration as string };
}

export function parseBackfillInput(raw: unknown): BackfillInput {
  const obj = asObject(raw, ['integration', 'from', 'shards', 'resume'], '{"integration": "orders", "from"?: <cursor>, "shards"?: N}');
  const out: BackfillInput = { integration: obj.integration as string };
  if (obj.from !== undefined) out.from = obj.from as Cursor;
  if (obj.shards !== undefined) {
    if (typeof obj.shards !== 'number' || !Number.isInteger(obj.shards) || obj.shards < 1 || obj.shards > 64) invalid(`shards: must be a whole number from 1 to 64, got ${JSON.stringify(obj.shards)}`);
    out.shards = obj.shards;
  }
  if (obj.resume !== undefined) {
    if (typeof obj.resume !== 'boolean') invalid(`resume: must be true or false, got ${JSON.stringify(obj.resume)}`);
    out.resume = obj.resume;
  }
  return out;
}
