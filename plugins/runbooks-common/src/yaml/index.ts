export * from './parseRunbookYaml';
