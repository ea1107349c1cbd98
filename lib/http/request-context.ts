/**
 * Request ids and caller identity for API Gateway HTTP API (v2) events. The id is, in order: a well-formed
 * incoming `X-Request-Id`, API Gateway's `requestContext.requestId`, or a generated UUID. It is remembered per
 * event object so the handler, the logger and the error mapper all use the same one.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CallerIdentity } from '../ledger/schema.ts';
import { UnauthenticatedError } from './errors.ts';

/** Accept caller-supplied ids only in a shape that is safe in headers and logs. */
const INCOMING_ID = /^[A-Za-z0-9._:=+/-]{8,128}$/;

const requestIds = new WeakMap<object, string>();

/** Case-insensitive header lookup (HTTP API lower-cases header names, local tooling may not). */
export function headerValue(
  event: Pick<APIGatewayProxyEventV2, 'headers'>,
  name: string,
): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name.toLowerCase()];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Picks (and remembers) the request id for this event. Idempotent: the same event always gets the same id. */
export function assignRequestId(event: APIGatewayProxyEventV2, generate: () => string = randomUUID): string {
  const known = requestIds.get(event);
  if (known !== undefined) return known;
  const incoming = headerValue(event, 'x-request-id')?.trim();
  const gateway = event.requestContext?.requestId;
  const id =
    incoming !== undefined && INCOMING_ID.test(incoming)
      ? incoming
      : typeof gateway === 'string' && gateway !== ''
        ? gateway
        : generate();
  requestIds.set(event, id);
  return id;
}

/** The request id assigned by the middleware (or a new one if the middleware did not run). */
export function getRequestId(event: APIGatewayProxyEventV2): string {
  return assignRequestId(event);
}

interface AuthorizerShape {
  iam?: {
    userArn?: string;
    userId?: string;
    accountId?: string;
    principalOrgId?: string | null;
    caller?: string;
  };
  jwt?: { claims?: Record<string, unknown> };
}

/**
 * Who called: the IAM principal or the JWT subject from the authorizer, for the ledger's `requested_by`.
 * Throws UnauthenticatedError (401) when the event has neither: every route refuses such a request (the
 * `requestContext` middleware checks it first), it is never recorded as anonymous.
 */
export function callerIdentity(event: APIGatewayProxyEventV2): CallerIdentity {
  const context = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: AuthorizerShape;
  };
  const sourceIp = context?.http?.sourceIp;
  const ip = typeof sourceIp === 'string' && sourceIp !== '' ? { source_ip: sourceIp } : {};
  const iam = context?.authorizer?.iam;
  const iamPrincipal = iam?.userArn ?? iam?.caller ?? iam?.userId;
  if (iamPrincipal) {
    return {
      kind: 'iam',
      principal: iamPrincipal,
      ...(iam?.accountId ? { account_id: iam.accountId } : {}),
      ...ip,
    };
  }
  const claims = context?.authorizer?.jwt?.claims;
  if (claims && typeof claims.sub === 'string' && claims.sub !== '') {
    return {
      kind: 'jwt',
      principal: claims.sub,
      ...(typeof claims.iss === 'string' ? { issuer: claims.iss } : {}),
      ...ip,
    };
  }
  throw new UnauthenticatedError();
}
