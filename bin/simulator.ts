/**
 * `npm run simulator [-- --port 8080 --seed 7 --time-scale 60 --fixture fleet.json]`: starts the local
 * Huawei Cloud simulator with a demo fleet, prints where it listens and the credentials to use, and runs
 * until Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startSimulator } from '../lib/simulator/index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    'time-scale': { type: 'string', default: '1' },
    fixture: { type: 'string' },
    regions: { type: 'string', default: 'ap-southeast-1,cn-north-4' },
  },
});

function intOption(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got ${raw}`);
    process.exit(2);
  }
  return value;
}

const port = intOption('port', values.port);
const seed = intOption('seed', values.seed);
const timeScale = Number(values['time-scale']);
if (!(timeScale > 0)) {
  console.error(`--time-scale must be positive, got ${values['time-scale']}`);
  process.exit(2);
}
const regions = values.regions.split(',').filter(Boolean);

const simulator = await startSimulator({
  port,
  seed,
  timeScale,
  ...(values.fixture
    ? { fleet: JSON.parse(readFileSync(values.fixture, 'utf8')) }
    : { generate: { seed, projects: 2, regions, resourcesPerProject: 4, backupsPerResource: 30 } }),
});

const counts = simulator.state.counts();
const lines = [
  `Huawei Cloud simulator listening on ${simulator.url}`,
  '',
  'Credentials (AK/SK signing):',
  `  AK ${simulator.credentials.ak}`,
  `  SK ${simulator.credentials.sk}`,
  `IAM password login: user ${simulator.user.name}, password ${simulator.user.password}, domain ${simulator.user.domain}`,
  '',
  'Projects:',
  ...[...simulator.state.projects.values()].map(
    (project) => `  ${project.region}  ${project.id}  (${project.name})`,
  ),
  '',
  'Base URLs (set as endpoint overrides, e.g. HUAWEICLOUD_SDK_REGION_CBR_AP_SOUTHEAST_1):',
  ...[...new Set([...simulator.state.projects.values()].map((project) => project.region))].flatMap((region) =>
    (['csbs', 'cbr', 'dds', 'dis', 'iam'] as const).map(
      (service) => `  ${service.padEnd(4)} ${region}  ${simulator.baseUrl(service, region)}`,
    ),
  ),
  '',
  `Fleet: ${counts.csbs} CSBS items, ${counts.cbr} CBR backups, ${counts.dds} DDS backups, ${counts.dis} DIS checkpoints`,
  `Admin: GET ${simulator.url}/__admin/inspect, POST /__admin/faults, POST /__admin/reset, POST /__admin/advance {"ms":N}`,
  'Ctrl-C to stop.',
];
console.log(lines.join('\n'));

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
