export * from './AgentService';
export * from './AgentStore';
export * from './AnthropicPlanner';
export * from './config';
export * from './fence';
export * from './intake';
export * from './OfflinePlanner';
export * from './summarise';
