export * from './compileParameters';
export * from './definitions';
export * from './formats';
