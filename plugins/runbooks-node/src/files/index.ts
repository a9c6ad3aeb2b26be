export * from './validateRunbookFiles';
