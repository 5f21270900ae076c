import m001 from './001-state';

/** Numbered migrations, applied in order, never edited once released: add a new one instead. */
export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [{ id: 1, name: '001-state', sql: m001 }];
