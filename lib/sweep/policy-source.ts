/**
 * Where the sweep's policy comes from: the bundled file (POLICY_FILE) or an SSM parameter
 * (POLICY_SSM_PARAMETER, SecureString allowed). Parsed once and cached per container; the SSM value is
 * re-read after `ttlMs` so a policy change reaches warm containers without a deploy.
 */
import { readFile } from 'node:fs/promises';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { PolicySource } from '../config.ts';
import { ConfigurationError } from '../huawei/errors.ts';
import { loadPolicy, type Policy } from '../retention/policy.ts';

export interface PolicyLoaderOptions {
  /** Created on first SSM use (module-level, reused across invocations) unless given. */
  readonly ssm?: Pick<SSMClient, 'send'>;
  readonly awsRegion?: string | undefined;
  /** How long an SSM policy is reused. Default 5 minutes; a file never changes in a deployed bundle. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export type PolicyLoader = (source: PolicySource | undefined) => Promise<Policy>;

export function createPolicyLoader(options: PolicyLoaderOptions = {}): PolicyLoader {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  let ssm = options.ssm;
  const cache = new Map<string, { policy: Promise<Policy>; at: number }>();
  return async (source) => {
    if (source === undefined) {
      throw new ConfigurationError('POLICY_FILE or POLICY_SSM_PARAMETER: one is required for the sweep');
    }
    const key = `${source.kind}:${source.kind === 'file' ? source.path : source.name}`;
    const hit = cache.get(key);
    if (hit !== undefined && (source.kind === 'file' || now() - hit.at < ttlMs)) return hit.policy;
    const policy =
      source.kind === 'file'
        ? readFile(source.path, 'utf8').then((text) => loadPolicy(text, source.path))
        : (async () => {
            ssm ??= new SSMClient(options.awsRegion === undefined ? {} : { region: options.awsRegion });
            const result = await ssm.send(
              new GetParameterCommand({ Name: source.name, WithDecryption: true }),
            );
            const text = result.Parameter?.Value;
            if (text === undefined) throw new ConfigurationError(`SSM parameter ${source.name} has no value`);
            return loadPolicy(text, `ssm:${source.name}`);
          })();
    cache.set(key, { policy, at: now() });
    // A failed load is not cached: the next invocation tries again.
    policy.catch(() => {
      if (cache.get(key)?.policy === policy) cache.delete(key);
    });
    return policy;
  };
}
