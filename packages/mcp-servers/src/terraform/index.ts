export { createTerraformServer } from './server';
export type { TerraformServerOptions } from './server';
export { mainTerraformServer } from './main';
