export { createNoopServer } from './server';
