// Neutral PostgreSQL wire format and connections (re-exports only): used by sources, sinks and state alike.
export * from './connect';
export * from './copy-in';
export * from './copy-out';
export * from './copy-text';
