export { createAnsibleServer } from './server';
export type { AnsibleServerOptions } from './server';
export { mainAnsibleServer } from './main';
