export * from './ExecutionEvents';
export * from './ExecutionManager';
export * from './ExecutionRunner';
export * from './ExecutionStore';
export * from './ExecutionWorker';
export * from './hooks';
export * from './types';
export * from './secrets';
