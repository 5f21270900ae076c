export * from './apply-schedules';
export * from './list-schedules';
export * from './schedule-id';
export * from './schedule-spec';
