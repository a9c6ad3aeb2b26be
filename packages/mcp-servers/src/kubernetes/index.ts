export * from './fake';
export { Kubectl } from './Kubectl';
export type { KubectlOptions } from './Kubectl';
export * from './KubernetesServer';
export * from './main';
