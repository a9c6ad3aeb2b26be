export { EntityExecutions } from './EntityExecutions';
