import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { UnauthenticatedError } from '../../lib/http/errors.ts';
import {
  assertProjectAllowed,
  callerIdentity,
  ErrorBodySchema,
  getRequestId,
  httpMiddleware,
  noContent,
  parseWith,
} from '../../lib/http/index.ts';
import {
  ConfigurationError,
  HuaweiApiError,
  HuaweiNetworkError,
  HuaweiResponseShapeError,
  InvalidRequestError,
} from '../../lib/huawei/errors.ts';
import { LedgerConflictError, LedgerThrottledError } from '../../lib/ledger/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { apiEvent, lambdaContext } from './api-event.ts';

const PROJECT = '0605767a3300d5762fb7c0186d9e1779';
const SECRET = 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc';
const logger = createLogger({ logLevel: 'SILENT' });

/** A function built exactly as functions/<verb-noun>.ts will be, with the behaviour under test injected. */
function handlerThat(
  behaviour: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>,
  jsonBody?: 'required' | 'optional',
) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(
      httpMiddleware({
        logger,
        ...(jsonBody === undefined ? {} : { jsonBody }),
        generateRequestId: () => 'generated-id-1',
      }),
    )
    .handler(behaviour);
}

function throwing(error: unknown) {
  return handlerThat(async () => {
    throw error;
  });
}

async function invoke(handler: ReturnType<typeof handlerThat>, event = apiEvent()) {
  const result = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
  const headers = result.headers ?? {};
  const body = result.body === undefined || result.body === '' ? undefined : JSON.parse(result.body);
  return { status: result.statusCode, headers, body, raw: result.body ?? '' };
}

function upstream(status: number, extra: Partial<ConstructorParameters<typeof HuaweiApiError>[0]> = {}) {
  return HuaweiApiError.fromResponse({
    service: 'cbr',
    operation: 'cbr.deleteBackup',
    status,
    requestId: 'upstream-req-9',
    ...extra,
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('request ids', () => {
  it('echoes the API Gateway request id on success', async () => {
    const response = await invoke(handlerThat(async () => noContent({ upstreamRequestId: 'u-1' })));
    expect(response.status).toBe(204);
    expect(response.headers['X-Request-Id']).toBe('JKJaXmPLvHcESHA=');
    expect(response.headers['X-Upstream-Request-Id']).toBe('u-1');
  });

  it('prefers a well-formed incoming X-Request-Id and gives the handler the same one', async () => {
    let seen = '';
    const handler = handlerThat(async (event) => {
      seen = getRequestId(event);
      return noContent();
    });
    const event = apiEvent({ headers: { 'x-request-id': 'caller-chosen-id-42' } });
    const response = await invoke(handler, event);
    expect(response.headers['X-Request-Id']).toBe('caller-chosen-id-42');
    expect(seen).toBe('caller-chosen-id-42');
  });

  it('ignores an incoming X-Request-Id that could inject into headers or logs', async () => {
    const event = apiEvent({ headers: { 'x-request-id': 'bad\r\nSet-Cookie: a=b' } });
    const response = await invoke(
      handlerThat(async () => noContent()),
      event,
    );
    expect(response.headers['X-Request-Id']).toBe('JKJaXmPLvHcESHA=');
  });

  it('generates an id when neither exists', async () => {
    const event = apiEvent();
    (event.requestContext as { requestId?: string }).requestId = undefined;
    const response = await invoke(throwing(new Error('boom')), event);
    expect(response.headers['X-Request-Id']).toBe('generated-id-1');
    expect(response.body.error.request_id).toBe('generated-id-1');
  });

  it('logs with the request id as a per-invocation key', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
    const log = createLogger({ logLevel: 'INFO' });
    const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
      .use(httpMiddleware({ logger: log }))
      .handler(async () => {
        log.info('inside');
        return noContent();
      });
    await handler(apiEvent(), lambdaContext());
    await handler(apiEvent({ headers: { 'x-request-id': 'second-request-id' } }), lambdaContext());
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed[0]).toMatchObject({
      message: 'inside',
      request_id: 'JKJaXmPLvHcESHA=',
      service: 'hwc-retention',
    });
    expect(parsed[0].function_request_id).toBe('c6af9ac6-7b61-11e6-9a41-93e812345678');
    expect(parsed[1]).toMatchObject({ request_id: 'second-request-id' });
  });
});

describe('errorResponder', () => {
  it('turns a parseWith failure into 400 VALIDATION with field paths', async () => {
    const PathSchema = z.object({ project_id: z.string().regex(/^[0-9a-f]{32}$/), backup_id: z.uuid() });
    const handler = handlerThat(async (event) => {
      parseWith(PathSchema, event.pathParameters, 'path');
      return noContent();
    });
    const response = await invoke(
      handler,
      apiEvent({ pathParameters: { project_id: '..%2F..', backup_id: 'x' } }),
    );
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION');
    expect(response.body.error.details.where).toBe('path');
    expect(response.body.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual([
      'path.project_id',
      'path.backup_id',
    ]);
    expect(response.headers['X-Request-Id']).toBe('JKJaXmPLvHcESHA=');
  });

  it('returns the parsed value when parseWith succeeds', () => {
    const QuerySchema = z.object({ limit: z.coerce.number().int() }).strict();
    expect(parseWith(QuerySchema, { limit: '5' }, 'query')).toEqual({ limit: 5 });
    expect(() => parseWith(QuerySchema, { limit: '5', extra: '1' }, 'query')).toThrow(/query/);
  });

  it('answers 415 when a required JSON body has another content type', async () => {
    const handler = handlerThat(async () => noContent(), 'required');
    const response = await invoke(
      handler,
      apiEvent({ headers: { 'content-type': 'text/plain' }, body: 'x' }),
    );
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 400 MALFORMED_JSON for unparsable JSON, without echoing the body', async () => {
    const handler = handlerThat(async () => noContent(), 'required');
    const event = apiEvent({ headers: { 'content-type': 'application/json' }, body: `{"sk": "${SECRET}"` });
    const response = await invoke(handler, event);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('MALFORMED_JSON');
    expect(response.raw).not.toContain(SECRET);
  });

  it('lets an optional JSON body be omitted and parses it when present', async () => {
    const bodies: unknown[] = [];
    const handler = handlerThat(async (event) => {
      bodies.push(event.body);
      return noContent();
    }, 'optional');
    expect((await invoke(handler, apiEvent())).status).toBe(204);
    const withBody = apiEvent({
      headers: { 'content-type': 'application/json' },
      body: '{"checkpoint_items":["a"]}',
    });
    expect((await invoke(handler, withBody)).status).toBe(204);
    expect(bodies).toEqual([undefined, { checkpoint_items: ['a'] }]);
  });

  it('maps createError-style 4xx errors to their own status, never 500', async () => {
    const error = Object.assign(new Error('Unprocessable Entity'), { statusCode: 422, expose: true });
    const response = await invoke(throwing(error));
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('UNPROCESSABLE_ENTITY');
  });

  it('maps InvalidRequestError to 400 with the field', async () => {
    const response = await invoke(throwing(new InvalidRequestError('backup_id', 'must not contain /')));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'backup_id' } });
  });

  it('maps a project outside the allowlist to 403 PROJECT_NOT_ALLOWED', async () => {
    const handler = handlerThat(async () => {
      assertProjectAllowed(new Set([PROJECT]), 'ffffffffffffffffffffffffffffffff');
      return noContent();
    });
    const response = await invoke(handler);
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('PROJECT_NOT_ALLOWED');
  });

  it('maps upstream not-found to 404 NOT_FOUND with the upstream code and request id', async () => {
    const response = await invoke(
      throwing(upstream(400, { errorCode: 'CSBS.3001', errorMessage: 'not exist' })),
    );
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'NOT_FOUND', details: { upstream_code: 'CSBS.3001' } });
    expect(response.headers['X-Upstream-Request-Id']).toBe('upstream-req-9');
    expect(response.headers['X-Request-Id']).toBe('JKJaXmPLvHcESHA=');
  });

  it('maps upstream busy to 409 BUSY', async () => {
    const response = await invoke(throwing(upstream(400, { errorCode: 'CSBS.2003' })));
    expect([response.status, response.body.error.code]).toEqual([409, 'BUSY']);
  });

  it('maps upstream throttling to 429 with Retry-After from the upstream, else a default', async () => {
    const told = await invoke(throwing(upstream(429, { retryAfterMs: 2500 })));
    expect([told.status, told.body.error.code, told.headers['Retry-After']]).toEqual([429, 'THROTTLED', '3']);
    const untold = await invoke(throwing(upstream(429)));
    expect(untold.headers['Retry-After']).toBe('5');
  });

  it('maps upstream auth failure to 502 UPSTREAM_AUTH and says nothing else', async () => {
    const error = upstream(401, {
      errorCode: 'APIG.0301',
      errorMessage: `Incorrect IAM authentication, ak ${SECRET}`,
    });
    const response = await invoke(throwing(error));
    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe('UPSTREAM_AUTH');
    expect(response.body.error.message).toMatch(/credentials/);
    expect(response.raw).not.toContain(SECRET);
    expect(response.raw).not.toContain('APIG.0301');
  });

  it('maps upstream 5xx, network and response-shape failures to 502', async () => {
    const context = { service: 'dds', operation: 'dds.deleteBackup' } as const;
    const cases: [unknown, string][] = [
      [upstream(503), 'UPSTREAM_UNAVAILABLE'],
      [new HuaweiNetworkError(context, 'ECONNRESET 10.0.0.1'), 'UPSTREAM_NETWORK'],
      [
        new HuaweiResponseShapeError(context, 'job_id: expected string', 'shape-req'),
        'UPSTREAM_BAD_RESPONSE',
      ],
    ];
    for (const [error, code] of cases) {
      const response = await invoke(throwing(error));
      expect([response.status, response.body.error.code]).toEqual([502, code]);
      expect(response.raw).not.toContain('10.0.0.1');
    }
  });

  it('maps an upstream refusal (other 4xx) to 422 UPSTREAM_REJECTED with the upstream code', async () => {
    const response = await invoke(
      throwing(upstream(400, { errorCode: '6201', errorMessage: 'cannot be deleted' })),
    );
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      details: { upstream_code: '6201' },
    });
  });

  it('maps ConfigurationError to 500 CONFIGURATION without the internal message', async () => {
    const response = await invoke(throwing(new ConfigurationError('HUAWEICLOUD_SDK_SK: is required')));
    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe('CONFIGURATION');
    expect(response.raw).not.toContain('HUAWEICLOUD_SDK_SK');
  });

  it('maps ledger conflicts to 409 and ledger throttling to 503 with Retry-After', async () => {
    const conflict = await invoke(throwing(new LedgerConflictError('d-1', 'status is done', 'done')));
    expect([conflict.status, conflict.body.error.code]).toEqual([409, 'CONFLICT']);
    const throttled = await invoke(throwing(new LedgerThrottledError('slow down')));
    expect([throttled.status, throttled.headers['Retry-After']]).toEqual([503, '1']);
  });

  it('hides unknown errors behind 500 INTERNAL with a generic message', async () => {
    const error = Object.assign(new Error(`database password is ${SECRET}`), { secretField: SECRET });
    const response = await invoke(throwing(error));
    expect(response.status).toBe(500);
    expect(ErrorBodySchema.parse(response.body)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal error', request_id: 'JKJaXmPLvHcESHA=' },
    });
    expect(response.raw).not.toContain(SECRET);
  });

  it('treats non-Error throwables and createError 5xx as internal', async () => {
    expect((await invoke(throwing('a string'))).status).toBe(500);
    const serverError = Object.assign(new Error('upstream detail'), { statusCode: 503, expose: false });
    const response = await invoke(throwing(serverError));
    expect([response.status, response.body.error.message]).toEqual([500, 'Internal error']);
  });
});

describe('callerIdentity', () => {
  it('reads the IAM authorizer principal', () => {
    const event = apiEvent();
    Object.assign(event.requestContext, {
      authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:role/ops', accountId: '123456789012' } },
    });
    expect(callerIdentity(event)).toEqual({
      kind: 'iam',
      principal: 'arn:aws:iam::123456789012:role/ops',
      account_id: '123456789012',
      source_ip: '203.0.113.7',
    });
  });

  it('reads the JWT subject and issuer', () => {
    const event = apiEvent();
    Object.assign(event.requestContext, {
      authorizer: { jwt: { claims: { sub: 'user-1', iss: 'https://idp' } } },
    });
    expect(callerIdentity(event)).toMatchObject({ kind: 'jwt', principal: 'user-1', issuer: 'https://idp' });
  });

  it('refuses an event without an authorizer identity instead of recording it as anonymous', () => {
    const event = apiEvent();
    Reflect.deleteProperty(event.requestContext, 'authorizer');
    expect(() => callerIdentity(event)).toThrow(UnauthenticatedError);
    Object.assign(event.requestContext, { authorizer: { jwt: { claims: { iss: 'https://idp' } } } });
    expect(() => callerIdentity(event)).toThrow(UnauthenticatedError);
  });

  it.each([
    ['no requestContext', (event: APIGatewayProxyEventV2) => Reflect.deleteProperty(event, 'requestContext')],
    [
      'no authorizer',
      (event: APIGatewayProxyEventV2) => Reflect.deleteProperty(event.requestContext, 'authorizer'),
    ],
    [
      'an empty IAM identity',
      (event: APIGatewayProxyEventV2) => Object.assign(event.requestContext, { authorizer: { iam: {} } }),
    ],
  ])('answers 401 UNAUTHENTICATED on any route for %s, before the handler runs', async (_, strip) => {
    let ran = false;
    const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
      .use(httpMiddleware({ logger: logger }))
      .handler(async () => {
        ran = true;
        return noContent();
      });
    const event = apiEvent();
    strip(event);
    const response = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(401);
    expect(ErrorBodySchema.parse(JSON.parse(response.body ?? '')).error.code).toBe('UNAUTHENTICATED');
    expect(ran).toBe(false);
  });
});
