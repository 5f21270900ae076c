export * from './csv-source';
export * from './csv-errors';
export { type CsvCursor } from './csv-cursor';
