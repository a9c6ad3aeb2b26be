export * from './config';
export * from './McpToolPool';
