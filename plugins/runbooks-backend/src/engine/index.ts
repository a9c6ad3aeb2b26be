export * from './ExecutionStore';
