export * from './contract';
export * from './InProcessToolInvoker';
export * from './ToolInvoker';
