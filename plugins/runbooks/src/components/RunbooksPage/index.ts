export { RunbooksPage, ExecutionPage } from './RunbooksPage';
