import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigurationError, type HuaweiService } from './errors.ts';
import { PRESETS, type Preset, SERVICES } from './regions.ts';

/**
 * (service, region) -> base URL. Lookup order is the official SDKs' provider chain: environment-style
 * overrides (`HUAWEICLOUD_SDK_REGION_{SERVICE}_{REGION}`), then a `regions.yaml` file, then the preset
 * table. A base URL may carry a path prefix (`http://127.0.0.1:4010/cbr`); the client appends API paths to it.
 */

export const OVERRIDE_PREFIX = 'HUAWEICLOUD_SDK_REGION_';

/** The `regions.yaml` shape of the official SDKs: `{ SERVICE: [{ id, endpoint?, endpoints? }] }`. */
export const RegionsFileSchema = z.record(
  z.string(),
  z.array(
    z.looseObject({
      id: z.string().min(1),
      endpoint: z.string().optional(),
      endpoints: z.array(z.string()).optional(),
    }),
  ),
);
export type RegionsFile = z.infer<typeof RegionsFileSchema>;

export interface EndpointResolverOptions {
  /** Path of a regions file in the official SDKs' `regions.yaml` shape. */
  readonly regionsFile?: string | undefined;
  /** The same content as text (tests, bundled config). */
  readonly regionsYaml?: string | undefined;
  /** Env-style overrides; keys other than `HUAWEICLOUD_SDK_REGION_*` are ignored. Values may list several URLs, comma-separated: the first wins. */
  readonly overrides?: Readonly<Record<string, string | undefined>> | undefined;
  readonly preset?: Preset | undefined;
}

export interface EndpointResolver {
  /** The base URL of `service` in `region`; throws ConfigurationError when none is known. */
  resolve(service: HuaweiService, region: string): URL;
  /** Whether `resolve` would succeed. */
  has(service: HuaweiService, region: string): boolean;
}

/** `HUAWEICLOUD_SDK_REGION_CBR_CN_NORTH_4` for (cbr, cn-north-4), as the SDKs spell it. */
export function overrideKey(service: string, region: string): string {
  return `${OVERRIDE_PREFIX}${service.toUpperCase()}_${region.toUpperCase().replace(/-/g, '_')}`;
}

function parseBaseUrl(raw: string, where: string): URL {
  const first = raw.split(',')[0]?.trim() ?? '';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(first) ? first : `https://${first}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigurationError(`${where}: not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(`${where}: only http and https endpoints are supported`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigurationError(`${where}: an endpoint carries no query, fragment or user info`);
  }
  return url;
}

function loadRegionsFile(options: EndpointResolverOptions): Map<string, URL> {
  const table = new Map<string, URL>();
  let text = options.regionsYaml;
  const where = options.regionsFile ?? 'regions yaml';
  if (text === undefined && options.regionsFile !== undefined) {
    try {
      text = readFileSync(options.regionsFile, 'utf8');
    } catch (error) {
      throw new ConfigurationError(`regions file ${options.regionsFile} cannot be read`, { cause: error });
    }
  }
  if (text === undefined) return table;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigurationError(`${where}: not valid YAML`, { cause: error });
  }
  const result = RegionsFileSchema.safeParse(parsed ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigurationError(`${where}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  for (const [service, entries] of Object.entries(result.data)) {
    for (const entry of entries) {
      const raw = entry.endpoint ?? entry.endpoints?.[0];
      if (!raw) continue;
      table.set(
        `${service.toLowerCase()} ${entry.id}`,
        parseBaseUrl(raw, `${where}: ${service}/${entry.id}`),
      );
    }
  }
  return table;
}

function loadOverrides(overrides: EndpointResolverOptions['overrides']): Map<string, URL> {
  const table = new Map<string, URL>();
  if (!overrides) return table;
  for (const [key, value] of Object.entries(overrides)) {
    if (!key.startsWith(OVERRIDE_PREFIX) || !value) continue;
    table.set(key, parseBaseUrl(value, key));
  }
  return table;
}

export function createEndpointResolver(options: EndpointResolverOptions = {}): EndpointResolver {
  const presetName = options.preset ?? 'huaweicloud';
  const preset = PRESETS[presetName];
  if (!preset) throw new ConfigurationError(`unknown endpoint preset ${String(presetName)}`);
  const fromFile = loadRegionsFile(options);
  const fromOverrides = loadOverrides(options.overrides);

  function lookup(service: HuaweiService, region: string): URL | undefined {
    if (!SERVICES.includes(service)) return undefined;
    const override = fromOverrides.get(overrideKey(service, region));
    if (override) return override;
    const file = fromFile.get(`${service} ${region}`);
    if (file) return file;
    if (!preset.regions[service].includes(region)) return undefined;
    const domain = preset.domainByRegion[region] ?? preset.domain;
    return new URL(`https://${service}.${region}.${domain}`);
  }

  return {
    resolve(service, region) {
      if (!SERVICES.includes(service)) {
        throw new ConfigurationError(
          `unknown service ${JSON.stringify(service)}; known: ${SERVICES.join(', ')}`,
        );
      }
      const url = lookup(service, region);
      if (!url) {
        throw new ConfigurationError(
          `no ${service} endpoint for region ${JSON.stringify(region)} in preset ${presetName}; known: ${preset.regions[service].join(', ')}; set ${overrideKey(service, region)} or add it to a regions file`,
        );
      }
      return new URL(url.href);
    },
    has(service, region) {
      return lookup(service, region) !== undefined;
    },
  };
}
