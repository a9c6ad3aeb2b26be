export * from './checkRunbookTools';
export * from './contract';
export * from './InProcessToolInvoker';
export * from './mcp';
export * from './ToolInvoker';
