export * from './ProvenanceService';
export * from './signing';
export * from './statements';
export * from './export';
