export * from './create-activities';
export * from './types';
