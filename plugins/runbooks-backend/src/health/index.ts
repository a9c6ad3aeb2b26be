export { RunbookHealthChecker } from './RunbookHealthChecker';
export type { HealthCheck } from './RunbookHealthChecker';
export { HealthStore } from './HealthStore';
export { HealthSweep } from './HealthSweep';
export type { SweepReport } from './HealthSweep';
