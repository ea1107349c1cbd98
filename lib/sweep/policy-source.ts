/**
 * Where the sweep's policy comes from: the bundled file (POLICY_FILE) or an SSM parameter
 * (POLICY_SSM_PARAMETER, SecureString allowed). A file is parsed once per container. An SSM parameter is read
 * through Powertools Parameters' SSMProvider, whose cache serves it for `ttlMs` (default 5 minutes) and then
 * reads it again, so a policy change reaches warm containers within that time without a deploy. The provider
 * and the SSM client are loaded on the first SSM read (a function with a bundled policy never loads them);
 * concurrent callers share one read, an unchanged text keeps its parsed policy, and a value that could not be
 * used (unreadable, empty, invalid policy) is read again by the next call instead of being served from the
 * cache.
 */
import { readFile } from 'node:fs/promises';
import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { PolicySource } from '../config.ts';
import { ConfigurationError } from '../huawei/errors.ts';
import { loadPolicy, type Policy } from '../retention/policy.ts';

/** How long an SSM policy is served from the cache when no `ttlMs` is given: 5 minutes (README says so). */
export const POLICY_TTL_MS = 5 * 60_000;

export interface PolicyLoaderOptions {
  /** The SSM client the provider sends through (tests); otherwise the provider creates one on first use. */
  readonly ssm?: SSMClient;
  readonly awsRegion?: string | undefined;
  /** How long Powertools' cache serves an SSM policy (whole seconds, at least 1). Default 5 minutes. */
  readonly ttlMs?: number;
}

export type PolicyLoader = (source: PolicySource | undefined) => Promise<Policy>;

export function createPolicyLoader(options: PolicyLoaderOptions = {}): PolicyLoader {
  const maxAge = Math.max(1, Math.round((options.ttlMs ?? POLICY_TTL_MS) / 1000));
  const files = new Map<string, Promise<Policy>>();
  const reads = new Map<string, Promise<Policy>>();
  const parsed = new Map<string, { text: string; policy: Policy }>();
  const refetch = new Set<string>();
  let provider: Promise<SSMProvider> | undefined;

  const providerOnce = (): Promise<SSMProvider> => {
    provider ??= import('@aws-lambda-powertools/parameters/ssm').then(({ SSMProvider }) =>
      options.ssm !== undefined
        ? new SSMProvider({ awsSdkV3Client: options.ssm })
        : new SSMProvider({
            clientConfig: options.awsRegion === undefined ? {} : { region: options.awsRegion },
          }),
    );
    provider.catch(() => {
      provider = undefined;
    });
    return provider;
  };

  const readSsm = async (name: string): Promise<Policy> => {
    const ssm = await providerOnce();
    const forceFetch = refetch.delete(name);
    let text: unknown;
    try {
      text = await ssm.get(name, { decrypt: true, maxAge, forceFetch });
    } catch (error) {
      refetch.add(name);
      throw new ConfigurationError(`SSM parameter ${name} cannot be read`, { cause: error });
    }
    if (typeof text !== 'string' || text === '') {
      refetch.add(name);
      throw new ConfigurationError(`SSM parameter ${name} has no value`);
    }
    const last = parsed.get(name);
    if (last?.text === text) return last.policy;
    try {
      const policy = loadPolicy(text, `ssm:${name}`);
      parsed.set(name, { text, policy });
      return policy;
    } catch (error) {
      refetch.add(name);
      throw error;
    }
  };

  return async (source) => {
    if (source === undefined) {
      throw new ConfigurationError('POLICY_FILE or POLICY_SSM_PARAMETER: one is required for the sweep');
    }
    if (source.kind === 'file') {
      let policy = files.get(source.path);
      if (policy === undefined) {
        policy = readFile(source.path, 'utf8').then((text) => loadPolicy(text, source.path));
        files.set(source.path, policy);
        // A failed load is not cached: the next invocation tries again.
        policy.catch(() => {
          if (files.get(source.path) === policy) files.delete(source.path);
        });
      }
      return policy;
    }
    let read = reads.get(source.name);
    if (read === undefined) {
      read = readSsm(source.name).finally(() => reads.delete(source.name));
      reads.set(source.name, read);
    }
    return read;
  };
}
