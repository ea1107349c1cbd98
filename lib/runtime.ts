/**
 * The composition root: from `config()` it builds the endpoint resolver, the auth provider (AK/SK from the
 * environment or Secrets Manager, or an IAM token whose password is in the environment or the same secret),
 * the Huawei client and the ledger — once per container, at module level, reused by every invocation. The
 * Secrets Manager provider is loaded on the first signed request only (lib/huawei/credentials.ts). Tests
 * replace the whole runtime with `setRuntimeForTests`.
 */
import { type Config, config, requireCredentials, requireProjectAllowlist, requireRegion } from './config.ts';
import { createHuaweiClient, type HuaweiClient } from './huawei/client.ts';
import {
  type AuthProvider,
  createAkSkAuth,
  identityFromSecret,
  NO_AUTH,
  type PasswordIdentity,
  SecretsManagerCredentialSource,
  SecretsManagerSecret,
  StaticCredentials,
  TokenAuth,
} from './huawei/credentials.ts';
import { createEndpointResolver, type EndpointResolver, overrideKey } from './huawei/endpoints.ts';
import { documentClient } from './ledger/dynamodb.ts';
import { createLedger } from './ledger/index.ts';
import type { Ledger } from './ledger/ledger.ts';
import { type DeletionLaneGate, laneGate } from './sweep/lane-gate.ts';
import {
  DynamoSweepCompletion,
  MemorySweepCompletion,
  type SweepCompletion,
} from './sweep/queued/completion.ts';
import { DynamoLaneSemaphore, type LaneSemaphore, MemoryLaneSemaphore } from './sweep/queued/semaphore.ts';
import { DynamoSweepLock, MemorySweepLock, type SweepLock } from './sweep/sweep-lock.ts';

export interface Runtime {
  readonly config: Config;
  /** The Huawei region this deployment serves (HWC_REGION). */
  readonly region: string;
  /** HWC_PROJECT_ALLOWLIST. */
  readonly allowlist: ReadonlySet<string>;
  readonly client: HuaweiClient;
  readonly ledger: Ledger;
  /**
   * The cross-invocation lane semaphore (DynamoDB with the DynamoDB ledger, in memory with the local one),
   * the HTTP deletions' gate over it, and the one-sweep-per-policy lock beside it.
   */
  readonly laneSemaphore?: LaneSemaphore | undefined;
  readonly laneGate?: DeletionLaneGate | undefined;
  readonly sweepLock?: SweepLock | undefined;
}

export interface Coordination {
  readonly semaphore: LaneSemaphore;
  readonly lock: SweepLock;
  readonly completion: SweepCompletion;
}

let memoryCoordination: Coordination | undefined;

/**
 * The semaphore and the sweep lock for the configured ledger: rows in the ledger's DynamoDB table, or one
 * in-memory twin per process for the local ledger (which is one process's anyway). The queued sweep's
 * completion counter lives beside them.
 */
export function coordinationFor(cfg: Config): Coordination {
  if (cfg.ledger.kind === 'dynamodb' && cfg.ledger.table !== undefined) {
    const client = documentClient(cfg.ledger.dynamodbEndpoint, cfg.awsRegion);
    return {
      semaphore: new DynamoLaneSemaphore({ client, tableName: cfg.ledger.table }),
      lock: new DynamoSweepLock({ client, tableName: cfg.ledger.table }),
      completion: new DynamoSweepCompletion({ client, tableName: cfg.ledger.table }),
    };
  }
  memoryCoordination ??= {
    semaphore: new MemoryLaneSemaphore(),
    lock: new MemorySweepLock(),
    completion: new MemorySweepCompletion(),
  };
  return memoryCoordination;
}

/** The config's endpoint overrides back in the env-style form the resolver reads. */
export function endpointResolverFor(cfg: Config): EndpointResolver {
  const overrides: Record<string, string> = {};
  for (const [service, byRegion] of Object.entries(cfg.endpointOverrides)) {
    for (const [region, urls] of Object.entries(byRegion ?? {}))
      overrides[overrideKey(service, region)] = urls.join(',');
  }
  return createEndpointResolver({ overrides, preset: cfg.endpointPreset, regionsFile: cfg.regionsFile });
}

/**
 * The auth provider the configuration asks for. Token auth needs its own client (the token call is unsigned)
 * and is scoped to the project when exactly one is allowed (project-scoped APIs need a project token).
 */
export function authProviderFor(cfg: Config, endpoints: EndpointResolver, region: string): AuthProvider {
  const source = requireCredentials(cfg);
  if (source.source === 'secrets-manager') {
    const secret = new SecretsManagerSecret({ secretId: source.secretArn });
    if (source.mode === 'aksk') {
      return createAkSkAuth(new SecretsManagerCredentialSource({ secretId: source.secretArn }));
    }
    // Token auth deployed: the IAM identity (with its password) is in the secret, read on first use.
    return lazyAuth(async () => tokenAuthFor(cfg, endpoints, region, await identityFromSecret(secret)));
  }
  if (source.mode === 'aksk') {
    return createAkSkAuth(
      new StaticCredentials(source.ak, source.sk.reveal(), source.securityToken?.reveal()),
    );
  }
  return tokenAuthFor(cfg, endpoints, region, {
    domainName: source.domainName,
    userName: source.userName,
    password: source.password.reveal(),
  });
}

/**
 * Token auth needs its own client (the token call is unsigned) and is scoped to the project when exactly one
 * is allowed (project-scoped APIs need a project token).
 */
function tokenAuthFor(
  cfg: Config,
  endpoints: EndpointResolver,
  region: string,
  identity: PasswordIdentity,
): TokenAuth {
  const [onlyProject, ...others] = cfg.projectAllowlist ?? [];
  return new TokenAuth({
    client: createHuaweiClient({ endpoints, auth: NO_AUTH }),
    region,
    identity,
    projectId: others.length === 0 ? onlyProject : undefined,
  });
}

/** An auth provider built on first use (a failed build is retried by the next request). */
function lazyAuth(build: () => Promise<AuthProvider>): AuthProvider {
  let built: Promise<AuthProvider> | undefined;
  let ready: AuthProvider | undefined;
  return {
    async authorize(request, signal) {
      built ??= build().catch((error: unknown) => {
        built = undefined;
        throw error;
      });
      ready = await built;
      return ready.authorize(request, signal);
    },
    invalidate() {
      ready?.invalidate?.();
    },
  };
}

export interface RuntimeOverrides {
  readonly client?: HuaweiClient;
  readonly ledger?: Ledger;
  readonly laneSemaphore?: LaneSemaphore;
  readonly sweepLock?: SweepLock;
}

export async function createRuntime(cfg: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const region = requireRegion(cfg);
  const allowlist = requireProjectAllowlist(cfg);
  let client = overrides.client;
  if (client === undefined) {
    const endpoints = endpointResolverFor(cfg);
    client = createHuaweiClient({ endpoints, auth: authProviderFor(cfg, endpoints, region) });
  }
  const ledger = overrides.ledger ?? (await createLedger(cfg));
  const coordination = coordinationFor(cfg);
  const laneSemaphore = overrides.laneSemaphore ?? coordination.semaphore;
  return {
    config: cfg,
    region,
    allowlist,
    client,
    ledger,
    laneSemaphore,
    laneGate: laneGate({ semaphore: laneSemaphore }),
    sweepLock: overrides.sweepLock ?? coordination.lock,
  };
}

let shared: Promise<Runtime> | undefined;

/** The container's runtime, built from `config()` on first use; a failed build is retried on the next call. */
export function runtime(): Promise<Runtime> {
  shared ??= Promise.resolve()
    .then(() => createRuntime(config()))
    .catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
  return shared;
}

/** Replaces the container's runtime (tests); `undefined` goes back to building it from `config()`. */
export function setRuntimeForTests(value: Runtime | Promise<Runtime> | undefined): void {
  shared = value === undefined ? undefined : Promise.resolve(value);
}
