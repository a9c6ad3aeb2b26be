export { RunbookCatalog, describeRunbook } from './RunbookCatalog';
export { runbookDigest } from './runbookDigest';
export * from './ownerRef';
