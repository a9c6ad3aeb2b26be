export { AgentProposals } from './AgentProposals';
