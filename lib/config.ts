/**
 * The one module that reads `process.env`. `loadConfig(env)` is pure: it parses an env record with zod into a
 * frozen, typed configuration and throws a `ConfigurationError` naming every missing or invalid key.
 * `config()` parses `process.env` once per cold start and returns the same object afterwards.
 *
 * Secrets (SK, security token, IAM password) are wrapped in `Secret`, which never serialises its value:
 * `JSON.stringify(config)`, `util.inspect(config)` and template strings all print `[REDACTED]`.
 */
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigurationError } from './huawei/errors.ts';

const REDACTED = '[REDACTED]';

/** A secret value that only `reveal()` gives back; every other way of printing it shows `[REDACTED]`. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    Object.freeze(this);
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

export const HUAWEI_SERVICES = ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const;
export const EndpointServiceSchema = z.enum(HUAWEI_SERVICES);
export type EndpointService = z.infer<typeof EndpointServiceSchema>;

/** Region ids as Huawei Cloud and OTC spell them: `ap-southeast-1`, `eu-west-101`, `eu-de`. */
export const RegionSchema = z
  .string()
  .regex(/^[a-z]{2,}(-[a-z0-9]+)+$/, 'must be a region id such as ap-southeast-1 or eu-de');
/** Project ids go into URL paths: letters, digits, `-` and `_` only. Huawei's are 32 hex characters. */
export const ProjectIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a project id (letters, digits, - and _)');
export const LogLevelSchema = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT']));
export type LogLevel = z.infer<typeof LogLevelSchema>;

/**
 * How the sweep fans out its deletions: `inline` in its own invocation, `queued` through SWEEP_QUEUE_URL to the
 * delete-worker, `auto` inline when the plan's estimated time fits the invocation and queued otherwise
 * (lib/sweep/estimate.ts).
 */
export const SweepModeSchema = z.enum(['auto', 'inline', 'queued']);
export type SweepMode = z.infer<typeof SweepModeSchema>;

const SecretSchema = z
  .string()
  .min(1)
  .transform((value) => new Secret(value));
const UrlSchema = z.url({ protocol: /^https?$/ });
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** The raw env keys this module understands (everything else is ignored, except the endpoint overrides). */
const EnvSchema = z.object({
  HWC_REGION: optionalString.pipe(RegionSchema.optional()),
  HWC_PROJECT_ALLOWLIST: optionalString,
  HWC_ENDPOINT_PRESET: optionalString.pipe(z.enum(['huaweicloud', 'otc']).default('huaweicloud')),
  HWC_ENDPOINT_OVERRIDES: optionalString,
  HWC_REGIONS_FILE: optionalString,
  HWC_AUTH_MODE: optionalString.pipe(z.enum(['aksk', 'token']).default('aksk')),
  HUAWEICLOUD_SDK_AK: optionalString,
  HUAWEICLOUD_SDK_SK: optionalString.pipe(SecretSchema.optional()),
  HUAWEICLOUD_SDK_SECURITY_TOKEN: optionalString.pipe(SecretSchema.optional()),
  HWC_CREDENTIALS_SECRET_ARN: optionalString.pipe(
    z
      .string()
      .regex(/^arn:[a-z-]+:secretsmanager:/, 'must be a Secrets Manager ARN')
      .optional(),
  ),
  HWC_IAM_DOMAIN_NAME: optionalString,
  HWC_IAM_USER_NAME: optionalString,
  HWC_IAM_PASSWORD: optionalString.pipe(SecretSchema.optional()),
  LEDGER: optionalString.pipe(z.enum(['dynamodb', 'local']).default('local')),
  LEDGER_TABLE: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')
      .optional(),
  ),
  LEDGER_DIR: optionalString.pipe(z.string().default('.hwc-retention/ledger')),
  LEDGER_RETENTION_DAYS: optionalString.pipe(
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number of days')
      .transform(Number)
      .pipe(z.number().int().min(1).max(3650))
      .default(400),
  ),
  HWC_DYNAMODB_ENDPOINT: optionalString.pipe(UrlSchema.optional()),
  SWEEP_QUEUE_URL: optionalString.pipe(UrlSchema.optional()),
  SWEEP_MODE: optionalString.pipe(SweepModeSchema.optional()),
  HWC_SQS_ENDPOINT: optionalString.pipe(UrlSchema.optional()),
  SWEEP_NOTIFY_TOPIC_ARN: optionalString.pipe(
    z
      .string()
      .regex(/^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN')
      .optional(),
  ),
  POLICY_FILE: optionalString,
  POLICY_SSM_PARAMETER: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_./-]+$/, 'must be an SSM parameter name')
      .optional(),
  ),
  LOG_LEVEL: optionalString.pipe(LogLevelSchema.default('INFO')),
  AWS_REGION: optionalString,
});

/** Where the Huawei credentials come from. The credentials module resolves them; this only says where. */
export type CredentialsSource =
  | {
      readonly source: 'env';
      readonly mode: 'aksk';
      readonly ak: string;
      readonly sk: Secret;
      readonly securityToken?: Secret;
    }
  | {
      readonly source: 'env';
      readonly mode: 'token';
      readonly domainName: string;
      readonly userName: string;
      readonly password: Secret;
    }
  | { readonly source: 'secrets-manager'; readonly mode: 'aksk' | 'token'; readonly secretArn: string };

export type PolicySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'ssm'; readonly name: string };

export interface Config {
  readonly region: string | undefined;
  /** `undefined` when HWC_PROJECT_ALLOWLIST is not set (the HTTP functions then refuse to start). */
  readonly projectAllowlist: ReadonlySet<string> | undefined;
  readonly endpointPreset: 'huaweicloud' | 'otc';
  readonly regionsFile: string | undefined;
  /**
   * From HUAWEICLOUD_SDK_REGION_{SERVICE}_{REGION} and HWC_ENDPOINT_OVERRIDES (for HWC_REGION): service →
   * region → endpoint URLs (first is preferred).
   */
  readonly endpointOverrides: Readonly<
    Partial<Record<EndpointService, Readonly<Record<string, readonly string[]>>>>
  >;
  readonly credentials: CredentialsSource | undefined;
  readonly ledger: {
    readonly kind: 'dynamodb' | 'local';
    readonly table: string | undefined;
    readonly dir: string;
    readonly retentionDays: number;
    readonly dynamodbEndpoint: string | undefined;
  };
  readonly sweepQueueUrl: string | undefined;
  /** SWEEP_MODE; when unset, `queued` with SWEEP_QUEUE_URL and `inline` without. */
  readonly sweepMode: SweepMode;
  readonly sqsEndpoint: string | undefined;
  /** SWEEP_NOTIFY_TOPIC_ARN: where sweep outcome notices go (lib/notify); unset: logged (or printed by the CLI). */
  readonly notifyTopicArn: string | undefined;
  readonly policySource: PolicySource | undefined;
  readonly logLevel: LogLevel;
  readonly awsRegion: string | undefined;
}

const OVERRIDE_PREFIX = 'HUAWEICLOUD_SDK_REGION_';

type Issue = { key: string; message: string };

function parseEndpointOverrides(
  env: Record<string, string | undefined>,
  issues: Issue[],
): Partial<Record<EndpointService, Record<string, string[]>>> {
  const overrides: Partial<Record<EndpointService, Record<string, string[]>>> = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(OVERRIDE_PREFIX) || raw === undefined || raw.trim() === '') continue;
    const rest = key.slice(OVERRIDE_PREFIX.length);
    const separator = rest.indexOf('_');
    const service = EndpointServiceSchema.safeParse(rest.slice(0, separator).toLowerCase());
    const region = RegionSchema.safeParse(
      rest
        .slice(separator + 1)
        .toLowerCase()
        .replaceAll('_', '-'),
    );
    if (separator < 1 || !service.success || !region.success) {
      issues.push({
        key,
        message: `expected ${OVERRIDE_PREFIX}{${HUAWEI_SERVICES.join('|').toUpperCase()}}_{REGION}`,
      });
      continue;
    }
    const urls = raw.split(',').map((url) => url.trim());
    const bad = urls.find((url) => !UrlSchema.safeParse(url).success);
    if (bad !== undefined) {
      issues.push({ key, message: 'must be a comma-separated list of http(s) URLs' });
      continue;
    }
    const byRegion = overrides[service.data] ?? {};
    byRegion[region.data] = urls;
    overrides[service.data] = byRegion;
  }
  return overrides;
}

/**
 * HWC_ENDPOINT_OVERRIDES: `service=url` entries (comma or whitespace separated; a service named twice lists
 * several URLs, first preferred) for HWC_REGION. One fixed key, so a deployment file can pass it whatever the
 * region, where the HUAWEICLOUD_SDK_REGION_* key names the region. A per-region key for the same service and
 * region wins over it.
 */
function mergeRegionOverrides(
  raw: string | undefined,
  region: string | undefined,
  overrides: Partial<Record<EndpointService, Record<string, string[]>>>,
  issues: Issue[],
): void {
  if (raw === undefined) return;
  const key = 'HWC_ENDPOINT_OVERRIDES';
  if (region === undefined) {
    issues.push({ key, message: 'needs HWC_REGION (its endpoints are for that region)' });
    return;
  }
  const byService: Partial<Record<EndpointService, string[]>> = {};
  for (const entry of raw.split(/[\s,]+/).filter((part) => part !== '')) {
    const separator = entry.indexOf('=');
    const service = EndpointServiceSchema.safeParse(entry.slice(0, Math.max(separator, 0)).toLowerCase());
    const url = entry.slice(separator + 1);
    if (separator < 1 || !service.success || !UrlSchema.safeParse(url).success) {
      issues.push({
        key,
        message: `expected comma-separated {${HUAWEI_SERVICES.join('|')}}=http(s) URL entries`,
      });
      return;
    }
    byService[service.data] = [...(byService[service.data] ?? []), url];
  }
  for (const [service, urls] of Object.entries(byService) as [EndpointService, string[]][]) {
    const byRegion = overrides[service] ?? {};
    byRegion[region] ??= urls;
    overrides[service] = byRegion;
  }
}

function credentialsFrom(env: z.infer<typeof EnvSchema>, issues: Issue[]): CredentialsSource | undefined {
  const mode = env.HWC_AUTH_MODE;
  if (env.HWC_CREDENTIALS_SECRET_ARN !== undefined) {
    return { source: 'secrets-manager', mode, secretArn: env.HWC_CREDENTIALS_SECRET_ARN };
  }
  if (mode === 'aksk') {
    const {
      HUAWEICLOUD_SDK_AK: ak,
      HUAWEICLOUD_SDK_SK: sk,
      HUAWEICLOUD_SDK_SECURITY_TOKEN: securityToken,
    } = env;
    if (ak === undefined && sk === undefined) return undefined;
    if (ak === undefined)
      issues.push({ key: 'HUAWEICLOUD_SDK_AK', message: 'is required when HUAWEICLOUD_SDK_SK is set' });
    if (sk === undefined)
      issues.push({ key: 'HUAWEICLOUD_SDK_SK', message: 'is required when HUAWEICLOUD_SDK_AK is set' });
    if (ak === undefined || sk === undefined) return undefined;
    return securityToken === undefined
      ? { source: 'env', mode, ak, sk }
      : { source: 'env', mode, ak, sk, securityToken };
  }
  const { HWC_IAM_DOMAIN_NAME: domainName, HWC_IAM_USER_NAME: userName, HWC_IAM_PASSWORD: password } = env;
  if (domainName === undefined && userName === undefined && password === undefined) return undefined;
  if (domainName === undefined)
    issues.push({ key: 'HWC_IAM_DOMAIN_NAME', message: 'is required for HWC_AUTH_MODE=token' });
  if (userName === undefined)
    issues.push({ key: 'HWC_IAM_USER_NAME', message: 'is required for HWC_AUTH_MODE=token' });
  if (password === undefined)
    issues.push({ key: 'HWC_IAM_PASSWORD', message: 'is required for HWC_AUTH_MODE=token' });
  if (domainName === undefined || userName === undefined || password === undefined) return undefined;
  return { source: 'env', mode, domainName, userName, password };
}

function allowlistFrom(raw: string | undefined, issues: Issue[]): ReadonlySet<string> | undefined {
  if (raw === undefined) return undefined;
  const ids = raw
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const bad = ids.filter((id) => !ProjectIdSchema.safeParse(id).success);
  if (bad.length > 0 || ids.length === 0) {
    issues.push({ key: 'HWC_PROJECT_ALLOWLIST', message: 'must be a comma-separated list of project ids' });
    return undefined;
  }
  return Object.freeze(new Set(ids));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Parses an env record into the frozen config; throws one ConfigurationError listing every bad key. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const issues: Issue[] = [];
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      issues.push({ key: String(issue.path[0] ?? '?'), message: issue.message });
    throw configurationError(issues);
  }
  const e = parsed.data;
  const endpointOverrides = parseEndpointOverrides(env, issues);
  mergeRegionOverrides(e.HWC_ENDPOINT_OVERRIDES, e.HWC_REGION, endpointOverrides, issues);
  const credentials = credentialsFrom(e, issues);
  const projectAllowlist = allowlistFrom(e.HWC_PROJECT_ALLOWLIST, issues);
  if (e.LEDGER === 'dynamodb' && e.LEDGER_TABLE === undefined) {
    issues.push({ key: 'LEDGER_TABLE', message: 'is required when LEDGER=dynamodb' });
  }
  if (e.SWEEP_MODE !== undefined && e.SWEEP_MODE !== 'inline' && e.SWEEP_QUEUE_URL === undefined) {
    issues.push({ key: 'SWEEP_MODE', message: `${e.SWEEP_MODE} needs SWEEP_QUEUE_URL (the sweep queue)` });
  }
  if (e.POLICY_FILE !== undefined && e.POLICY_SSM_PARAMETER !== undefined) {
    issues.push({ key: 'POLICY_FILE', message: 'set either POLICY_FILE or POLICY_SSM_PARAMETER, not both' });
  }
  if (issues.length > 0) throw configurationError(issues);

  const policySource: PolicySource | undefined =
    e.POLICY_FILE !== undefined
      ? { kind: 'file', path: e.POLICY_FILE }
      : e.POLICY_SSM_PARAMETER !== undefined
        ? { kind: 'ssm', name: e.POLICY_SSM_PARAMETER }
        : undefined;

  return deepFreeze<Config>({
    region: e.HWC_REGION,
    projectAllowlist,
    endpointPreset: e.HWC_ENDPOINT_PRESET,
    regionsFile: e.HWC_REGIONS_FILE,
    endpointOverrides,
    credentials,
    ledger: {
      kind: e.LEDGER,
      table: e.LEDGER_TABLE,
      dir: e.LEDGER_DIR,
      retentionDays: e.LEDGER_RETENTION_DAYS,
      dynamodbEndpoint: e.HWC_DYNAMODB_ENDPOINT,
    },
    sweepQueueUrl: e.SWEEP_QUEUE_URL,
    sweepMode: e.SWEEP_MODE ?? (e.SWEEP_QUEUE_URL === undefined ? 'inline' : 'queued'),
    sqsEndpoint: e.HWC_SQS_ENDPOINT,
    notifyTopicArn: e.SWEEP_NOTIFY_TOPIC_ARN,
    policySource,
    logLevel: e.LOG_LEVEL,
    awsRegion: e.AWS_REGION,
  });
}

function configurationError(issues: Issue[]): ConfigurationError {
  const lines = issues.map(({ key, message }) => `${key}: ${message}`);
  return new ConfigurationError(`Invalid configuration: ${lines.join('; ')}`);
}

let cached: Config | undefined;

/** The process-wide configuration, parsed from `process.env` on first use (cold start). */
export function config(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

/** Forgets the cached configuration (tests only). */
export function resetConfigForTests(): void {
  cached = undefined;
}

/** The project allowlist, or a ConfigurationError naming HWC_PROJECT_ALLOWLIST when it is not configured. */
export function requireProjectAllowlist(cfg: Config): ReadonlySet<string> {
  if (cfg.projectAllowlist === undefined) {
    throw new ConfigurationError('HWC_PROJECT_ALLOWLIST: is required for the HTTP functions');
  }
  return cfg.projectAllowlist;
}

/** The credentials source, or a ConfigurationError naming the keys that would provide one. */
export function requireCredentials(cfg: Config): CredentialsSource {
  if (cfg.credentials === undefined) {
    throw new ConfigurationError(
      'HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK, HWC_CREDENTIALS_SECRET_ARN or HWC_IAM_* (HWC_AUTH_MODE=token): one is required',
    );
  }
  return cfg.credentials;
}

/** The region, or a ConfigurationError naming HWC_REGION. */
export function requireRegion(cfg: Config): string {
  if (cfg.region === undefined) throw new ConfigurationError('HWC_REGION: is required');
  return cfg.region;
}

/** A setting a command needs; `requireSettings` checks several at once. */
export type RequiredSetting = 'region' | 'credentials' | 'projectAllowlist';

const SETTING_HINTS: Readonly<Record<RequiredSetting, string>> = {
  region: 'HWC_REGION: is required (the region whose endpoints to call, e.g. ap-southeast-1)',
  credentials:
    'HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (an AK/SK pair), HWC_CREDENTIALS_SECRET_ARN, or HWC_AUTH_MODE=token with HWC_IAM_DOMAIN_NAME, HWC_IAM_USER_NAME and HWC_IAM_PASSWORD: one is required',
  projectAllowlist: 'HWC_PROJECT_ALLOWLIST: is required (comma-separated project ids the HTTP API may touch)',
};

/**
 * Checks every setting in `needs` and throws one ConfigurationError naming all that are missing, so a
 * first run reports everything to set at once instead of one key per attempt.
 */
export function requireSettings(cfg: Config, needs: readonly RequiredSetting[]): void {
  const present: Record<RequiredSetting, boolean> = {
    region: cfg.region !== undefined,
    credentials: cfg.credentials !== undefined,
    projectAllowlist: cfg.projectAllowlist !== undefined,
  };
  const missing = needs.filter((setting) => !present[setting]);
  if (missing.length > 0) {
    throw new ConfigurationError(
      `missing configuration (${missing.length}):\n${missing.map((setting) => `  ${SETTING_HINTS[setting]}`).join('\n')}\nSee .env.example and the README's Configuration section.`,
    );
  }
}
