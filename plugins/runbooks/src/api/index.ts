export * from './RunbooksApi';
