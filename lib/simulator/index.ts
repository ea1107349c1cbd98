/** The local Huawei Cloud simulator: see `startSimulator`. */
export type { SimUser } from './auth.ts';
export type { FaultConfig, FaultRule, Latency } from './faults.ts';
export { FaultConfigSchema } from './faults.ts';
export type {
  CbrBackup,
  CsbsItem,
  DdsBackup,
  DdsInstance,
  DisApp,
  DisCheckpoint,
  DisStream,
  Fleet,
  FleetOptions,
  Project,
  SimService,
} from './fleet.ts';
export {
  CSBS_PROVIDER_ID,
  emptyFleet,
  FleetSchema,
  formatCloudTime,
  formatDdsTime,
  generateFleet,
  seededRandom,
} from './fleet.ts';
export type { Inspection, RequestRecord } from './inspection.ts';
export type { Simulator, SimulatorOptions } from './server.ts';
export { startSimulator } from './server.ts';
export type { DdsJob, DeletionTimings } from './state.ts';
export { SimState } from './state.ts';
