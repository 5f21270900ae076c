export * from './duration';
export * from './env-refs';
export * from './errors';
export * from './identifiers';
export * from './load-config';
export * from './schema';
export * from './temporal-env';
export * from './transform-schema';
