export * from './runCommand';
