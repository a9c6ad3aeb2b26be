export * from './runCli';
