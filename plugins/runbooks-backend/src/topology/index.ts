export { assessBlastRadius } from './assess';
export type { BlastRadiusInput } from './assess';
export { CatalogTopology } from './CatalogTopology';
export type { TopologyWalk } from './CatalogTopology';
export { defaultBlastRadiusPolicy, readBlastRadiusPolicy } from './config';
export type {
  BlastRadiusMeasures,
  BlastRadiusPolicy,
  BlastRadiusThresholdLevel,
} from './config';
export { TopologyBlastRadius } from './TopologyBlastRadius';
