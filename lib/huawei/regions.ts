import type { HuaweiService } from './errors.ts';

/**
 * The regions each service is known to run in, per cloud. Taken from the official Go SDK's per-service
 * `services/{svc}/{ver}/region/region.go` tables (CBR v1, DDS v3, DIS v2, IAM v3). CSBS has no v3 SDK
 * package; its list is CBR's regions that predate CBR (CSBS is the older service), which is an assumption:
 * a region missing here is added through an override or a regions file, never guessed at run time.
 */

export const SERVICES: readonly HuaweiService[] = ['csbs', 'cbr', 'dds', 'dis', 'iam'];

export type Preset = 'huaweicloud' | 'otc';

export interface PresetTable {
  /** Host suffix after `{service}.{region}.`. */
  readonly domain: string;
  /** Regions whose hosts use a different domain (e.g. eu-west-101 on `.myhuaweicloud.eu`). */
  readonly domainByRegion: Readonly<Record<string, string>>;
  readonly regions: Readonly<Record<HuaweiService, readonly string[]>>;
}

const HUAWEICLOUD_CBR = [
  'af-south-1',
  'ae-ad-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'cn-east-2',
  'cn-east-3',
  'cn-north-1',
  'cn-north-2',
  'cn-north-4',
  'cn-north-9',
  'cn-south-1',
  'cn-south-2',
  'cn-south-4',
  'cn-southwest-2',
  'eu-west-101',
  'la-north-2',
  'la-south-2',
  'me-east-1',
  'na-mexico-1',
  'sa-brazil-1',
  'tr-west-1',
];

export const HUAWEICLOUD: PresetTable = {
  domain: 'myhuaweicloud.com',
  domainByRegion: { 'eu-west-101': 'myhuaweicloud.eu' },
  regions: {
    csbs: [
      'af-south-1',
      'ap-southeast-1',
      'ap-southeast-2',
      'ap-southeast-3',
      'cn-east-2',
      'cn-east-3',
      'cn-north-1',
      'cn-north-4',
      'cn-south-1',
      'cn-southwest-2',
    ],
    cbr: HUAWEICLOUD_CBR,
    dds: [
      'af-south-1',
      'ap-southeast-1',
      'ap-southeast-2',
      'ap-southeast-3',
      'cn-east-2',
      'cn-east-3',
      'cn-north-1',
      'cn-north-2',
      'cn-north-4',
      'cn-south-1',
      'cn-south-2',
      'cn-southwest-2',
      'eu-west-101',
      'la-north-2',
      'na-mexico-1',
      'ru-northwest-2',
    ],
    // API.md: DIS exists in 7 regions only.
    dis: [
      'ap-southeast-1',
      'ap-southeast-2',
      'cn-east-2',
      'cn-east-3',
      'cn-north-1',
      'cn-north-4',
      'cn-south-1',
    ],
    iam: [
      'af-south-1',
      'ap-southeast-1',
      'ap-southeast-2',
      'ap-southeast-3',
      'cn-east-2',
      'cn-east-3',
      'cn-north-1',
      'cn-north-2',
      'cn-north-4',
      'cn-north-9',
      'cn-south-1',
      'cn-south-2',
      'cn-southwest-2',
      'eu-west-0',
      'eu-west-101',
      'la-north-2',
      'la-south-2',
      'na-mexico-1',
      'sa-brazil-1',
    ],
  },
};

/** Open Telekom Cloud: `{service}.{region}.otc.t-systems.com`. */
export const OTC: PresetTable = {
  domain: 'otc.t-systems.com',
  domainByRegion: {},
  regions: {
    csbs: ['eu-de', 'eu-nl'],
    cbr: ['eu-de', 'eu-nl'],
    dds: ['eu-de', 'eu-nl'],
    dis: ['eu-de', 'eu-nl'],
    iam: ['eu-de', 'eu-nl'],
  },
};

export const PRESETS: Readonly<Record<Preset, PresetTable>> = { huaweicloud: HUAWEICLOUD, otc: OTC };
