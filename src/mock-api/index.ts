export { startMockApi, type MockApi, type MockApiOptions, type MockApiStats } from './mock-api';
export { exampleConfig, ORDER_COLUMNS, ORDER_COLUMN_TYPES } from './example-config';
export { compareWithSnapshot, type Comparison } from './compare-target';
export type { Fault, FaultOptions } from './faults';
export type { Order } from './order-factory';
export type { Mutation } from './orders-dataset';
