/**
 * Package-time checks of the deployment parameters (serverless.yml `params`), run by
 * deploy/check-parameters.mjs before `serverless package` bundles anything: every function's environment, as
 * it will be deployed, goes through lib/config.ts exactly as the function parses it at cold start, plus the
 * rules of a deployment (credentials only from the secret, the DynamoDB ledger, a policy for the sweep).
 * A deployment that would answer 500 CONFIGURATION on every call fails here instead, naming the parameter.
 */
import { loadConfig, requireCredentials, requireProjectAllowlist, requireRegion } from '../config.ts';

export interface FunctionEnvironment {
  readonly name: string;
  /** provider.environment merged with the function's; CloudFormation intrinsics are objects. */
  readonly environment: Readonly<Record<string, unknown>>;
}

/** The serverless.yml parameter behind each environment key, for messages. */
const PARAMETER_OF: Readonly<Record<string, string>> = {
  HWC_REGION: 'hwcRegion',
  HWC_PROJECT_ALLOWLIST: 'projectAllowlist',
  HWC_ENDPOINT_PRESET: 'endpointPreset',
  HWC_ENDPOINT_OVERRIDES: 'endpointOverrides',
  HWC_AUTH_MODE: 'authMode',
  HWC_CREDENTIALS_SECRET_ARN: 'credentialsSecretArn',
  LEDGER: 'ledger',
  LEDGER_RETENTION_DAYS: 'ledgerRetentionDays',
  LOG_LEVEL: 'logLevel',
  SWEEP_MODE: 'sweepMode',
  POLICY_FILE: 'policyFile',
  POLICY_SSM_PARAMETER: 'policySsmParameter',
};

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

function named(key: string): string {
  const parameter = PARAMETER_OF[key];
  return parameter === undefined ? key : `${parameter} (${key})`;
}

/** Intrinsics (`!Ref SweepQueue`) are resolved by CloudFormation: a placeholder of the right shape here. */
function deployedEnvironment(environment: Readonly<Record<string, unknown>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment)) {
    if (typeof value === 'string') env[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
    else if (value != null)
      env[key] = key.endsWith('_URL')
        ? 'https://resolved.at.deploy.invalid/'
        : key.endsWith('_TOPIC_ARN')
          ? 'arn:aws:sns:us-east-1:000000000000:resolved-at-deploy'
          : 'resolved-at-deploy';
  }
  return env;
}

function issuesOf(fn: FunctionEnvironment): string[] {
  const env = deployedEnvironment(fn.environment);
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig(env);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message
      .replace(/^Invalid configuration: /, '')
      .split('; ')
      .map((line) => {
        const colon = line.indexOf(': ');
        return colon < 0 ? line : `${named(line.slice(0, colon))}: ${line.slice(colon + 2)}`;
      });
  }
  const issues: string[] = [];
  const required = (check: () => unknown) => {
    try {
      check();
    } catch (error) {
      issues.push(error instanceof Error ? error.message : String(error));
    }
  };
  required(() => requireRegion(cfg));
  if (cfg.projectAllowlist === undefined) {
    issues.push(`${named('HWC_PROJECT_ALLOWLIST')}: is required (the project ids this deployment may touch)`);
  } else required(() => requireProjectAllowlist(cfg));
  if (cfg.credentials?.source !== 'secrets-manager') {
    issues.push(
      `${named('HWC_CREDENTIALS_SECRET_ARN')}: is required (the Secrets Manager secret with the Huawei ` +
        'credentials; deployed functions read them from nowhere else)',
    );
  } else required(() => requireCredentials(cfg));
  if (cfg.ledger.kind !== 'dynamodb') {
    issues.push(`${named('LEDGER')}: must be dynamodb when deployed (local is for serverless offline)`);
  }
  if ('POLICY_FILE' in env && cfg.policySource === undefined) {
    issues.push(`${named('POLICY_FILE')} or ${named('POLICY_SSM_PARAMETER')}: one is required for the sweep`);
  }
  return issues;
}

/** Every problem of the deployment, each once (most are the same for every function). */
export function deploymentIssues(functions: readonly FunctionEnvironment[], alarmEmails: string): string[] {
  const issues = new Set<string>();
  for (const fn of functions) for (const issue of issuesOf(fn)) issues.add(issue);
  for (const email of splitList(alarmEmails)) {
    if (!EMAIL.test(email)) issues.add(`alarmEmails (HWC_ALARM_EMAILS): "${email}" is not an e-mail address`);
  }
  return [...issues];
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** The alarm topic's `Subscription` list for the alarmEmails parameter. */
export function alarmSubscriptions(alarmEmails: string): { Protocol: 'email'; Endpoint: string }[] {
  return splitList(alarmEmails).map((email) => ({ Protocol: 'email', Endpoint: email }));
}
