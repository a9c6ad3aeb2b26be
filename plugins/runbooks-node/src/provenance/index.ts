export * from './statement';
export * from './verify';
