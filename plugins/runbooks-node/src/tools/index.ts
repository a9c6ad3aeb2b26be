export * from './InProcessToolInvoker';
export * from './ToolInvoker';
