export * from './ConfigOnCallProvider';
export * from './types';
