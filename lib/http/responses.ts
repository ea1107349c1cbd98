/** Success responses in one shape; the middleware adds X-Request-Id. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { UPSTREAM_REQUEST_ID_HEADER } from './error-response.ts';

function upstreamHeader(upstreamRequestId: string | undefined): Record<string, string> {
  return upstreamRequestId === undefined ? {} : { [UPSTREAM_REQUEST_ID_HEADER]: upstreamRequestId };
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  options: { upstreamRequestId?: string; headers?: Record<string, string> } = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: {
      'Content-Type': 'application/json',
      ...upstreamHeader(options.upstreamRequestId),
      ...options.headers,
    },
    body: JSON.stringify(body),
  };
}

export function noContent(options: { upstreamRequestId?: string } = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 204, headers: upstreamHeader(options.upstreamRequestId) };
}
