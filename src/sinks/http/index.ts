export { HttpSink, createHttpSink, type HttpSinkContext } from './http-sink';
export { DeliveryCredentialsError, DeliveryRetriesExhaustedError, DeliveryStatusError, HttpSinkSetupError } from './http-sink-errors';
export { contentHashOf, idempotencyKeyOf, recordKeyOf } from './delivery-keys';
export type { DeliveryStats } from './delivery-client';
