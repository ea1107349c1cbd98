/**
 * `serverless package` as a deployer runs it: without the required parameters it fails before bundling and
 * names them; with production-like parameters the CloudFormation template has the alarms, the topic's
 * subscribers, the secret permission with its ARN and no package-time conditions. The rules themselves
 * (lib/deploy/parameters.ts) are unit-tested first.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { alarmSubscriptions, deploymentIssues } from '../../lib/deploy/parameters.ts';
import { ledgerTableDefinition } from '../../lib/ledger/table.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const serverlessBin = join(root, 'node_modules/serverless/bin/serverless.js');
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hwc-retention-AbCdEf';
const PROJECT = '0123456789abcdef0123456789abcdef';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const deployed = {
  HWC_REGION: 'eu-west-101',
  HWC_PROJECT_ALLOWLIST: PROJECT,
  HWC_CREDENTIALS_SECRET_ARN: ARN,
  LEDGER: 'dynamodb',
  LEDGER_TABLE: 'hwc-retention-dev-ledger',
};

describe('deployment parameters', () => {
  it('names every missing required parameter at once', () => {
    expect(
      deploymentIssues(
        [
          {
            name: 'f',
            environment: { ...deployed, HWC_PROJECT_ALLOWLIST: '', HWC_CREDENTIALS_SECRET_ARN: '' },
          },
        ],
        '',
      ),
    ).toEqual([
      'projectAllowlist (HWC_PROJECT_ALLOWLIST): is required (the project ids this deployment may touch)',
      'credentialsSecretArn (HWC_CREDENTIALS_SECRET_ARN): is required (the Secrets Manager secret with the Huawei credentials; deployed functions read them from nowhere else)',
    ]);
  });

  it('reports what lib/config.ts would refuse at cold start, under the parameter name', () => {
    const issues = deploymentIssues(
      [
        {
          name: 'f',
          environment: { ...deployed, HWC_CREDENTIALS_SECRET_ARN: 'not-an-arn', HWC_AUTH_MODE: 'password' },
        },
      ],
      '',
    );
    expect(issues.join('\n')).toContain(
      'credentialsSecretArn (HWC_CREDENTIALS_SECRET_ARN): must be a Secrets Manager ARN',
    );
    expect(issues.join('\n')).toContain('authMode (HWC_AUTH_MODE):');
  });

  it('refuses a local ledger, a sweep without a policy and a bad alarm address', () => {
    const issues = deploymentIssues(
      [
        {
          name: 'sweep',
          environment: { ...deployed, LEDGER: 'local', POLICY_FILE: '', POLICY_SSM_PARAMETER: '' },
        },
      ],
      'sre@example.com, not-an-address',
    );
    expect(issues).toEqual([
      'ledger (LEDGER): must be dynamodb when deployed (local is for serverless offline)',
      'policyFile (POLICY_FILE) or policySsmParameter (POLICY_SSM_PARAMETER): one is required for the sweep',
      'alarmEmails (HWC_ALARM_EMAILS): "not-an-address" is not an e-mail address',
    ]);
  });

  it('accepts a deployment whose queue URL CloudFormation resolves', () => {
    const environment = {
      ...deployed,
      SWEEP_MODE: 'auto',
      SWEEP_QUEUE_URL: { Ref: 'SweepQueue' },
      POLICY_FILE: 'p.yaml',
    };
    expect(deploymentIssues([{ name: 'sweep', environment }], 'sre@example.com')).toEqual([]);
    expect(alarmSubscriptions(' a@example.com,b@example.com ')).toEqual([
      { Protocol: 'email', Endpoint: 'a@example.com' },
      { Protocol: 'email', Endpoint: 'b@example.com' },
    ]);
  });
});

function packageWith(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'hwc-package-'));
  dirs.push(dir);
  const result = spawnSync(process.execPath, [serverlessBin, 'package', '--package', dir], {
    cwd: root,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      HWC_BUNDLE_EXTENSION: '.mjs',
      ...env,
    },
  });
  return { ...result, dir };
}

describe('serverless package', () => {
  it('fails before bundling when the allowlist and the secret are not given, naming both', () => {
    const result = packageWith({});
    expect(result.status).not.toBe(0);
    const output = `${result.stdout}${result.stderr}`;
    expect(output).toContain('Invalid deployment parameters');
    expect(output).toContain('projectAllowlist (HWC_PROJECT_ALLOWLIST): is required');
    expect(output).toContain('credentialsSecretArn (HWC_CREDENTIALS_SECRET_ARN): is required');
  }, 120_000);

  it('emits the alarms, their topic and subscribers, and the secret permission with its ARN', () => {
    const result = packageWith({
      HWC_PROJECT_ALLOWLIST: PROJECT,
      HWC_CREDENTIALS_SECRET_ARN: ARN,
      HWC_AUTH_MODE: 'token',
      HWC_ALARM_EMAILS: 'sre@example.com,oncall@example.com',
      POLICY_FILE: '',
      POLICY_SSM_PARAMETER: '/hwc-retention/policy',
    });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    const template = JSON.parse(
      readFileSync(join(result.dir, 'cloudformation-template-update-stack.json'), 'utf8'),
    );
    const resources = template.Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    expect(template.Conditions).toBeUndefined();
    const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.map(([name]) => name).sort()).toEqual([
      'BreakerRefusalAlarm',
      'DeadLetterQueueAlarm',
      'DeletionFailuresAlarm',
      'SweepNotCompletedAlarm',
    ]);
    for (const [, alarm] of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    expect(resources.AlarmTopic?.Properties.Subscription).toEqual([
      { Protocol: 'email', Endpoint: 'sre@example.com' },
      { Protocol: 'email', Endpoint: 'oncall@example.com' },
    ]);
    const text = JSON.stringify(template);
    expect(text).not.toContain('HUAWEICLOUD_SDK_');
    // Every role of a function that calls Huawei (GET /sweeps/{id} reads the ledger only).
    const roles = Object.entries(resources).filter(
      ([name, r]) => r.Type === 'AWS::IAM::Role' && name !== 'GetSweepRole',
    );
    expect(roles).toHaveLength(7);
    for (const [, role] of roles) {
      expect(JSON.stringify(role)).toContain(`"Action":"secretsmanager:GetSecretValue","Resource":"${ARN}"`);
    }
    expect(resources.HttpApiStage?.Properties).toMatchObject({
      DefaultRouteSettings: { ThrottlingRateLimit: '10', ThrottlingBurstLimit: '20' },
      AccessLogSettings: expect.any(Object),
    });
    // Sweep outcome notices: the functions that end sweeps (the schedule, POST /sweeps, an approval, and the
    // delete-worker finishing a queued sweep) know the alarm topic, and only their roles may publish, there.
    const notifying = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .filter(([, r]) =>
        JSON.stringify(r.Properties).includes('"SWEEP_NOTIFY_TOPIC_ARN":{"Ref":"AlarmTopic"}'),
      )
      .map(([name]) => name)
      .sort();
    expect(notifying).toEqual([
      'ApproveSweepLambdaFunction',
      'DeleteWorkerLambdaFunction',
      'SweepApiLambdaFunction',
      'SweepLambdaFunction',
    ]);
    const publishing = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r).includes('sns:Publish'))
      .map(([name]) => name)
      .sort();
    expect(publishing).toEqual(['DeleteWorkerRole', 'SweepRole']);
    for (const name of publishing) {
      const policies = resources[name]?.Properties.Policies as { PolicyDocument: { Statement: unknown[] } }[];
      const statements = policies.flatMap((policy) => policy.PolicyDocument.Statement);
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Resource: { Ref: 'AlarmTopic' },
      });
    }
    for (const name of notifying) {
      const role = resources[name]?.Properties.Role as { 'Fn::GetAtt'?: string[] } | undefined;
      expect(publishing).toContain(role?.['Fn::GetAtt']?.[0]);
    }
    // The table's indexes are lib/ledger/table.ts's (the history breaker reads gsi2).
    expect(resources.LedgerTable?.Properties.GlobalSecondaryIndexes).toEqual(
      ledgerTableDefinition('any').GlobalSecondaryIndexes,
    );
    const onFailure = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(onFailure?.Properties.DestinationConfig).toEqual({
      OnFailure: { Destination: { Ref: 'AlarmTopic' } },
    });
  }, 240_000);
});
