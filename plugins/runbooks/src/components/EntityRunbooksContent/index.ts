export { EntityRunbooksContent } from './EntityRunbooksContent';
