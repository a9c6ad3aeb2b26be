export { CompositeToolInvoker } from './CompositeToolInvoker';
