export * from './serve';
export * from './tools';
