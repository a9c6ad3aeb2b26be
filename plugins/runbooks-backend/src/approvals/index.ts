export * from './gate';
export * from './escalation';
