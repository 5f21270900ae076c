export * from './http-source';
export * from './http-errors';
export { HttpClient, type HttpClientStats } from './http-client';
export { leaseLimiter } from './rate-limiter';
