import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** The `aws_iam` authorizer's identity of a signed request, as API Gateway HTTP API puts it in the event. */
export const IAM_AUTHORIZER = {
  iam: {
    accessKey: 'AKIAIOSFODNN7EXAMPLE',
    accountId: '123456789012',
    callerId: 'AIDACKCEVSQ6C2EXAMPLE',
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: 'arn:aws:iam::123456789012:user/backup-operator',
    userId: 'AIDACKCEVSQ6C2EXAMPLE',
  },
};

/** A real-shaped API Gateway HTTP API (v2) event, signed by an IAM user; override what a test cares about. */
export function apiEvent(overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: 'DELETE /cbr/v3/{project_id}/backups/{backup_id}',
    rawPath: '/cbr/v3/0605767a3300d5762fb7c0186d9e1779/backups/6e5d0f2f-2ab5-4b3b-9f43-3b0e9a6c1c11',
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.eu-central-1.amazonaws.com', 'user-agent': 'vitest' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-central-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'DELETE',
        path: '/cbr/v3/0605767a3300d5762fb7c0186d9e1779/backups/6e5d0f2f-2ab5-4b3b-9f43-3b0e9a6c1c11',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'vitest',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: 'DELETE /cbr/v3/{project_id}/backups/{backup_id}',
      stage: '$default',
      time: '27/Nov/2026:00:00:00 +0000',
      timeEpoch: 1795737600000,
    },
    pathParameters: {
      project_id: '0605767a3300d5762fb7c0186d9e1779',
      backup_id: '6e5d0f2f-2ab5-4b3b-9f43-3b0e9a6c1c11',
    },
    isBase64Encoded: false,
    ...overrides,
  };
  // The v2 event type leaves the authorizer out of `requestContext`; API Gateway puts it there.
  if (overrides.requestContext === undefined)
    Object.assign(event.requestContext, { authorizer: IAM_AUTHORIZER });
  return event;
}

export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'hwc-retention-dev-deleteBackup',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:hwc-retention-dev-deleteBackup',
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/hwc-retention-dev-deleteBackup',
    logStreamName: '2026/11/27/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
