export { planDigest } from '@runbooks/plugin-runbooks-node';
