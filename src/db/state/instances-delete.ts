import type pg from 'pg';

/**
 * Removes an instance; with `purge` also everything tidemark kept under its integration id
 * (`<template>/<instance-id>`): checkpoints, runs, dead letters, tuning, source columns, reconciliations,
 * OAuth tokens, shard counters of its runs and the HTTP sink's delivery ledger, in one statement (every CTE sees
 * the same snapshot, so run_shards finds the runs deleted beside it). False when there was no such instance.
 */
export async function deleteInstance(client: pg.Client, template: string, instanceId: string, purge: boolean): Promise<boolean> {
  const r = await client.query(
    `WITH id AS (SELECT $1::text || '/' || $2::text AS integration WHERE $3::boolean),
          c AS (DELETE FROM tidemark.checkpoints WHERE integration IN (SELECT integration FROM id)),
          r AS (DELETE FROM tidemark.runs WHERE integration IN (SELECT integration FROM id)),
          d AS (DELETE FROM tidemark.dead_letters WHERE integration IN (SELECT integration FROM id)),
          t AS (DELETE FROM tidemark.tuning WHERE integration IN (SELECT integration FROM id)),
          s AS (DELETE FROM tidemark.source_columns WHERE integration IN (SELECT integration FROM id)),
          x AS (DELETE FROM tidemark.reconciliations WHERE integration IN (SELECT integration FROM id)),
          o AS (DELETE FROM tidemark.oauth_tokens WHERE integration IN (SELECT integration FROM id)),
          rs AS (DELETE FROM tidemark.run_shards WHERE run_id IN (SELECT run_id FROM tidemark.runs WHERE integration IN (SELECT integration FROM id))),
          dl AS (DELETE FROM tidemark.deliveries WHERE integration IN (SELECT integration FROM id))
     DELETE FROM tidemark.instances WHERE template = $1::text AND instance_id = $2::text`,
    [template, instanceId, purge],
  );
  return r.rowCount === 1;
}
