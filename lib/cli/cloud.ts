/**
 * The Huawei client a command uses with `--cloud`: configuration from the environment (lib/config.ts), every
 * missing setting reported at once, and the policy's own regions standing in for HWC_REGION.
 */
import { config, requireSettings } from '../config.ts';
import { createHuaweiClient, type HuaweiClient } from '../huawei/client.ts';
import { authProviderFor, endpointResolverFor } from '../runtime.ts';

/**
 * A client for the real cloud. `regions` are the regions the command will call (a policy's); when there are
 * some, HWC_REGION is not needed (token auth logs in through the first one's IAM endpoint).
 */
export function cloudClient(regions: readonly string[]): HuaweiClient {
  const cfg = config();
  requireSettings(cfg, regions.length > 0 ? ['credentials'] : ['region', 'credentials']);
  const region = cfg.region ?? (regions[0] as string);
  const endpoints = endpointResolverFor(cfg);
  return createHuaweiClient({ endpoints, auth: authProviderFor(cfg, endpoints, region) });
}

/** HWC_REGION if set, else the given fallback (the first region a policy lists). */
export function configuredRegion(): string | undefined {
  return config().region;
}
