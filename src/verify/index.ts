export * from './range-sql';
export * from './verify-integration';
export * from './reconciliations';
export * from './ledger-deletes';
export { sharedTargetOf } from './shared-target';
