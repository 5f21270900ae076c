export { HttpSink, createHttpSink, type HttpSinkContext } from './http-sink';
export { BulkResultsError, DeliveryCredentialsError, DeliveryRetriesExhaustedError, DeliveryStatusError, HttpSinkSetupError, TooManyDeliveryDeletesError } from './http-sink-errors';
export type { DeleteGoneResult } from './delete-gone';
export { contentHashOf, idempotencyKeyOf, recordKeyOf } from './delivery-keys';
export type { DeliveryStats } from './delivery-client';
