import { ApplicationFailure } from '@temporalio/workflow';
import type { Cursor } from '../cursor/cursor';

/**
 * Workflow input checks, by hand: workflow code imports only @temporalio/workflow and types, so no zod.
 * A bad input fails the workflow at once, non-retryable, naming the field.
 */
export interface SyncInput {
  integration: string;
  /** reconcile deletes now and past deletes.maxFraction / sink.deletes.maxFraction (`tidemark sync <id> --force-deletes`) */
  forceDeletes?: boolean;
  /** Task-queue fairness weight of the run's activities (an instance's Schedule passes the instance's); absent: the server's default, 1. */
  fairnessWeight?: number;
}

export interface BackfillInput {
  integration: string;
  from?: Cursor;
  shards?: number;
  /** Continue the integration's last backfill from its checkpoint instead of starting afresh. */
  resume?: boolean;
  /** Rows per second for the whole run (all shards together), from the start; a 'tune' signal changes it. */
  rate?: number;
  /** Page size for this run instead of the config's batchSize; a 'tune' signal changes it. */
  batchSize?: number;
  /** As in SyncInput. */
  fairnessWeight?: number;
}

/** The 'tune' signal: change a running backfill's page size and/or rate without restarting it. */
export interface TuneInput {
  batchSize?: number;
  rowsPerSecond?: number;
}

// An integration id, or an instance of a template: `<template>/<instance-id>`.
const ID = /^[a-z0-9][a-z0-9_-]{0,62}(\/[a-z0-9][a-z0-9_-]{0,62})?$/;

function invalid(message: string): never {
  throw ApplicationFailure.nonRetryable(`invalid workflow input: ${message}`, 'InvalidWorkflowInput');
}

function asObject(raw: unknown, allowed: string[], example: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid(`expected an object like ${example}, got ${JSON.stringify(raw) ?? 'nothing'}`);
  const obj = raw as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length) invalid(`unknown field(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  if (typeof obj.integration !== 'string' || !ID.test(obj.integration)) {
    invalid(`integration: must be an integration id matching [a-z0-9][a-z0-9_-]* (or <template>/<instance-id>), got ${JSON.stringify(obj.integration) ?? 'nothing'}`);
  }
  return obj;
}

export function parseSyncInput(raw: unknown): SyncInput {
  const obj = asObject(raw, ['integration', 'forceDeletes', 'fairnessWeight'], '{"integration": "orders", "forceDeletes"?: true, "fairnessWeight"?: 2}');
  if (obj.forceDeletes !== undefined && typeof obj.forceDeletes !== 'boolean') invalid(`forceDeletes: must be true or false, got ${JSON.stringify(obj.forceDeletes)}`);
  const weight = checkFairnessWeight(obj.fairnessWeight);
  return { integration: obj.integration as string, ...(obj.forceDeletes ? { forceDeletes: true } : {}), ...(weight !== undefined ? { fairnessWeight: weight } : {}) };
}

/** The same bounds as `tidemark instances add --weight` (src/config/template-schema), written out: no zod here. */
function checkFairnessWeight(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1000) invalid(`fairnessWeight: must be a number above 0 and at most 1000, got ${JSON.stringify(v)}`);
  return v;
}

export function parseBackfillInput(raw: unknown): BackfillInput {
  const obj = asObject(raw, ['integration', 'from', 'shards', 'resume', 'rate', 'batchSize', 'fairnessWeight'], '{"integration": "orders", "from"?: <cursor>, "shards"?: N, "rate"?: rows/s}');
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
  const rate = checkRate(obj.rate, 'rate');
  if (rate !== undefined) out.rate = rate;
  const batch = checkBatchSize(obj.batchSize);
  if (batch !== undefined) out.batchSize = batch;
  const weight = checkFairnessWeight(obj.fairnessWeight);
  if (weight !== undefined) out.fairnessWeight = weight;
  return out;
}

function checkRate(v: unknown, field: string, fail: (m: string) => never = invalid): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${field}: must be a positive number of rows per second, got ${JSON.stringify(v)}`);
  return v;
}

function checkBatchSize(v: unknown, fail: (m: string) => never = invalid): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100_000) fail(`batchSize: must be a whole number from 1 to 100000, got ${JSON.stringify(v)}`);
  return v;
}

/** A signal cannot fail the workflow: a bad one is reported (returned as an error message) and ignored. */
export function parseTuneInput(raw: unknown): TuneInput | string {
  const fail = (m: string): never => {
    throw new Error(m);
  };
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`expected {"batchSize"?: N, "rowsPerSecond"?: N}, got ${JSON.stringify(raw) ?? 'nothing'}`);
    const obj = raw as Record<string, unknown>;
    const unknown = Object.keys(obj).filter((k) => k !== 'batchSize' && k !== 'rowsPerSecond');
    if (unknown.length) fail(`unknown field(s) ${unknown.join(', ')}; allowed: batchSize, rowsPerSecond`);
    const batchSize = checkBatchSize(obj.batchSize, fail);
    const rowsPerSecond = checkRate(obj.rowsPerSecond, 'rowsPerSecond', fail);
    if (batchSize === undefined && rowsPerSecond === undefined) fail('give batchSize and/or rowsPerSecond');
    return { ...(batchSize !== undefined ? { batchSize } : {}), ...(rowsPerSecond !== undefined ? { rowsPerSecond } : {}) };
  } catch (err) {
    return `invalid tune signal: ${(err as Error).message}`;
  }
}
