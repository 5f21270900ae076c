export * from './backfill-workflow';
export * from './sync-workflow';
