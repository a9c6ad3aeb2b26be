export { RunRunbookDialog } from './RunRunbookDialog';
