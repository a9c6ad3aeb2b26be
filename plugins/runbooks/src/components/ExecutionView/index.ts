export { ExecutionView, GatePanel } from './ExecutionView';
