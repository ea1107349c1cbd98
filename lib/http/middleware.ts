/**
 * The shared middy v6 middleware for API Gateway HTTP API (v2) functions:
 *
 *   export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
 *     .use(httpMiddleware({ jsonBody: 'optional' }))
 *     .handler(async (event) => ...);
 *
 * `requestContext` assigns the request id, resets and fills the logger's per-invocation keys, refuses a request
 * without a caller identity (401 UNAUTHENTICATED) and echoes `X-Request-Id` on success; `errorResponder` is the one `onError` that turns every error into the JSON error
 * shape (lib/http/error-response.ts) and logs it once.
 */
import type { MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { logger as defaultLogger, type Logger } from '../logger.ts';
import { errorResponse, mapError, REQUEST_ID_HEADER } from './error-response.ts';
import { assignRequestId, callerIdentity } from './request-context.ts';

type HttpMiddleware = MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

export interface HttpMiddlewareOptions {
  readonly logger?: Logger;
  /** `'required'`: the body must be JSON; `'optional'`: parse JSON when a body is present; default: no parsing. */
  readonly jsonBody?: 'required' | 'optional';
  /** Request id generator for requests without one (tests inject a fixed one). */
  readonly generateRequestId?: () => string;
}

export function requestContext(options: HttpMiddlewareOptions = {}): HttpMiddleware {
  const log = options.logger ?? defaultLogger;
  return {
    name: 'requestContext',
    before: (request) => {
      const requestId = assignRequestId(request.event, options.generateRequestId);
      log.resetKeys();
      if (typeof request.context?.awsRequestId === 'string') log.addContext(request.context);
      log.appendKeys({
        request_id: requestId,
        apigw_request_id: request.event.requestContext?.requestId,
        route: request.event.routeKey,
      });
      // Every route refuses a request without a caller identity (401), before the handler runs.
      callerIdentity(request.event);
    },
    after: (request) => {
      const requestId = assignRequestId(request.event, options.generateRequestId);
      const response = request.response;
      if (response !== null && typeof response === 'object' && 'statusCode' in response) {
        request.response = { ...response, headers: { ...response.headers, [REQUEST_ID_HEADER]: requestId } };
      }
    },
  };
}

export function errorResponder(options: HttpMiddlewareOptions = {}): HttpMiddleware {
  const log = options.logger ?? defaultLogger;
  return {
    name: 'errorResponder',
    onError: (request) => {
      const requestId = assignRequestId(request.event, options.generateRequestId);
      const mapped = mapError(request.error);
      const summary = {
        code: mapped.code,
        status: mapped.status,
        upstream_request_id: mapped.upstreamRequestId,
      };
      if (mapped.serverFault) log.error('request failed', { ...summary, error: request.error });
      else log.info('request rejected', summary);
      request.response = errorResponse(mapped, requestId);
    },
  };
}

/** Parses a JSON body only when one is present, so an optional body (CSBS `checkpoint_items`) can be omitted. */
export function optionalJsonBody(): HttpMiddleware {
  const parser = httpJsonBodyParser();
  return {
    name: 'optionalJsonBody',
    before: async (request) => {
      const body = request.event.body;
      if (body === undefined || body === null || body === '') return;
      await parser.before?.(request as never);
    },
  };
}

/** requestContext + errorResponder (+ a JSON body parser), in the order they must run. */
export function httpMiddleware(options: HttpMiddlewareOptions = {}): HttpMiddleware[] {
  const stack: HttpMiddleware[] = [requestContext(options), errorResponder(options)];
  if (options.jsonBody === 'required') stack.push(httpJsonBodyParser() as HttpMiddleware);
  if (options.jsonBody === 'optional') stack.push(optionalJsonBody());
  return stack;
}
