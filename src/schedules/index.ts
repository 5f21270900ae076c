export * from './apply-schedules';
export * from './instance-schedules';
export * from './reconcile-instances';
export * from './list-schedules';
export * from './schedule-id';
export * from './schedule-spec';
