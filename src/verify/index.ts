export * from './range-sql';
export * from './verify-integration';
export * from './reconciliations';
