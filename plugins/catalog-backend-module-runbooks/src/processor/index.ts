export { RunbookEntitiesProcessor } from './RunbookEntitiesProcessor';
