import { isCsvSource, isHttpSource, isPostgresSource, type SourceConfig } from '../config/schema';
import { isSliceable, sliceRefusal } from './http/time-split';

/**
 * Why a source cannot be read in shards (`backfill --shards N`), from its config alone (no connection, no secret),
 * or undefined: it can, or its kind is a custom one that only the worker knows. The CLI refuses before a workflow
 * starts; the plan refuses the same before it reads (a workflow started from the UI or `temporal`).
 */
export function shardsRefusal(cfg: SourceConfig): string | undefined {
  const without = 'run the backfill without --shards';
  if (isPostgresSource(cfg)) return undefined;
  if (isCsvSource(cfg)) return `a csv source cannot split its key range (one file, read in order); ${without}`;
  if (isHttpSource(cfg)) {
    if (cfg.parent) return `a child stream (source.parent) cannot split its key range: its cursor goes parent by parent; ${without}`;
    return isSliceable(cfg.pagination) ? undefined : sliceRefusal(cfg.pagination).message;
  }
  return undefined;
}
