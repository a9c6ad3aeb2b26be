export { CompositeToolInvoker } from './CompositeToolInvoker';
export { planDigest } from './planDigest';
