export * from './test-kit';
