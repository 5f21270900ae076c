export * from './instance-gauges';
export * from './metrics-server';
export * from './prometheus-text';
