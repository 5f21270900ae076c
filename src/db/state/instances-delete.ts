import type pg from 'pg';

/**
 * Removes an instance; with `purge` also everything tidemark kept under its integration id
 * (`<template>/<instance-id>`): checkpoints, runs, dead letters, tuning, source columns, reconciliations,
 * OAuth tokens, shard counters of its runs and the HTTP sink's delivery ledger, in one statement (every CTE sees
 * the same snapshot, so run_shards finds the runs deleted beside it). Returns whether there was such an instance,
 * and how many rows the purge removed besides it.
 */
export async function deleteInstance(client: pg.Client, template: string, instanceId: string, purge: boolean): Promise<{ found: boolean; purged: number }> {
  const r = await client.query<{ found: string; purged: string }>(
    `WITH id AS (SELECT $1::text || '/' || $2::text AS integration WHERE $3::boolean),
          c AS (DELETE FROM tidemark.checkpoints WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          r AS (DELETE FROM tidemark.runs WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          d AS (DELETE FROM tidemark.dead_letters WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          t AS (DELETE FROM tidemark.tuning WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          s AS (DELETE FROM tidemark.source_columns WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          x AS (DELETE FROM tidemark.reconciliations WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          o AS (DELETE FROM tidemark.oauth_tokens WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          rs AS (DELETE FROM tidemark.run_shards WHERE run_id IN (SELECT run_id FROM tidemark.runs WHERE integration IN (SELECT integration FROM id)) RETURNING 1),
          dl AS (DELETE FROM tidemark.deliveries WHERE integration IN (SELECT integration FROM id) RETURNING 1),
          i AS (DELETE FROM tidemark.instances WHERE template = $1::text AND instance_id = $2::text RETURNING 1)
     SELECT (SELECT count(*) FROM i)::text AS found,
            ((SELECT count(*) FROM c) + (SELECT count(*) FROM r) + (SELECT count(*) FROM d) + (SELECT count(*) FROM t) + (SELECT count(*) FROM s)
              + (SELECT count(*) FROM x) + (SELECT count(*) FROM o) + (SELECT count(*) FROM rs) + (SELECT count(*) FROM dl))::text AS purged`,
    [template, instanceId, purge],
  );
  const row = r.rows[0];
  return { found: Number(row?.found ?? 0) === 1, purged: Number(row?.purged ?? 0) };
}
