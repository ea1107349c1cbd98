/**
 * The editor and API contracts, generated from the zod schemas that validate the real inputs and outputs:
 * the policy's JSON Schema (referenced from policies/*.yaml for editors) and an OpenAPI 3.1 document for
 * the HTTP API. `npm run schemas` writes them to schemas/; a test fails when the committed files are stale.
 */
import { z } from 'zod';
import { ApproveRequestSchema } from '../approval/schema.ts';
import {
  CbrPathSchema,
  CsbsBodySchema,
  CsbsPathSchema,
  DdsPathSchema,
  DeletionPathSchema,
  DisQuerySchema,
  ProjectPathSchema,
} from '../deletions/schemas.ts';
import { DeletionViewSchema } from '../deletions/view.ts';
import { DeletionStatusSchema, LedgerServiceSchema } from '../ledger/schema.ts';
import { ReportModelSchema } from '../report/model.ts';
import { SweepViewSchema } from '../report/stored-sweep.ts';
import { PolicySchema } from '../retention/policy.ts';
import { SweepReportSchema } from '../sweep/report.ts';
import { SweepPathSchema, SweepRequestSchema } from '../sweep/request.ts';

export const POLICY_SCHEMA_FILE = 'schemas/policy.schema.json';
export const OPENAPI_FILE = 'schemas/openapi.json';

type JsonObject = Record<string, unknown>;

/** What a request accepts: the schema's input side (defaults optional, durations as strings). */
const input = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject;
const output = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonObject;

/** The policy file's JSON Schema (draft 2020-12): every object closed, so an editor flags `dialy: 7`. */
export function policyJsonSchema(): JsonObject {
  const { $schema, ...rest } = input(PolicySchema);
  return {
    $schema,
    title: 'hwc-retention retention policy',
    description:
      'A retention policy (YAML or JSON): targets with restic-style keep rules and safety rules. Durations are NyNmNdNh (e.g. 30d, 1y6m). Semantics: docs/retention.md. Generated from PolicySchema (lib/retention/policy.ts) by npm run schemas.',
    ...rest,
  };
}

/** A JSON Schema component without its `$schema` key (OpenAPI 3.1 components are plain schemas). */
function component(schema: JsonObject): JsonObject {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** One OpenAPI parameter per property of a zod object (path or query). */
function parameters(schema: z.ZodObject, where: 'path' | 'query'): JsonObject[] {
  const json = input(schema) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

const ERROR_CODES = {
  400: ['VALIDATION', 'INVALID_REQUEST', 'MALFORMED_JSON'],
  401: ['UNAUTHENTICATED'],
  403: ['PROJECT_NOT_ALLOWED'],
  404: ['NOT_FOUND', 'PLAN_NOT_FOUND'],
  409: [
    'BUSY',
    'CONFLICT',
    'SWEEP_CONFLICT',
    'CIRCUIT_BREAKER',
    'SWEEP_RUNNING',
    'APPROVAL_REQUIRED',
    'PLAN_HASH_MISMATCH',
    'POLICY_CHANGED',
    'ALREADY_APPROVED',
    'NOT_APPROVABLE',
  ],
  410: ['APPROVAL_EXPIRED'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  422: ['UPSTREAM_REJECTED'],
  429: ['THROTTLED'],
  500: ['CONFIGURATION', 'INTERNAL'],
  502: [
    'UPSTREAM_AUTH',
    'UPSTREAM_UNAVAILABLE',
    'UPSTREAM_NETWORK',
    'UPSTREAM_BAD_RESPONSE',
    'UPSTREAM_ERROR',
  ],
  503: ['LEDGER_THROTTLED', 'LEDGER_UNAVAILABLE'],
} as const;

const ERROR_DESCRIPTIONS: Record<keyof typeof ERROR_CODES, string> = {
  400: 'Bad input, before anything is sent upstream (the details name the field)',
  401: 'No caller identity reached the function (API Gateway IAM auth bypassed)',
  403: 'The project is not in HWC_PROJECT_ALLOWLIST (or the sweep policy names such a project)',
  404: 'Already gone upstream (with upstream_code), or no such deletion, sweep or stored plan',
  409: 'Busy upstream, a conflicting record, another sweep of the same policy running, the circuit breaker (max_delete_share) refused the sweep, or an approval that does not match its plan (wrong hash, changed policy, approved before)',
  410: 'The plan is older than its approval.expires_after: plan again',
  415: 'The body is not application/json',
  422: 'Huawei Cloud rejected the request as invalid (upstream 400); repeating it will not help',
  429: 'Throttled upstream after retries; retry after Retry-After seconds',
  500: 'A configuration or internal error of this deployment',
  502: 'Huawei Cloud failed, was unreachable, answered an unexpected shape, or rejected our credentials',
  503: 'The ledger (DynamoDB) throttled or was unavailable; nothing was sent upstream without a record',
};

type Status = keyof typeof ERROR_CODES;

function errorResponses(statuses: readonly Status[]): JsonObject {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: `${ERROR_DESCRIPTIONS[status]}. Codes: ${ERROR_CODES[status].join(', ')}`,
        headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
}

const DELETE_ERRORS: Status[] = [400, 401, 403, 404, 409, 422, 429, 500, 502, 503];

function deletionResponses(): JsonObject {
  return {
    '202': {
      description: 'Accepted and still running upstream; follow Location (GET /deletions/{id})',
      headers: {
        Location: { schema: { type: 'string' }, description: '/deletions/{deletion_id}' },
        'X-Deletion-Id': { schema: { type: 'string' } },
        'X-Request-Id': { $ref: '#/components/headers/RequestId' },
        'X-Upstream-Request-Id': { $ref: '#/components/headers/UpstreamRequestId' },
      },
      content: { 'application/json': { schema: { $ref: '#/components/schemas/DeletionAccepted' } } },
    },
    '204': {
      description: 'Deleted (upstream finished synchronously)',
      headers: {
        'X-Deletion-Id': { schema: { type: 'string' } },
        'X-Request-Id': { $ref: '#/components/headers/RequestId' },
        'X-Upstream-Request-Id': { $ref: '#/components/headers/UpstreamRequestId' },
      },
    },
    ...errorResponses(DELETE_ERRORS),
  };
}

/** The body of a 202 from a deletion route (lib/deletions/responses.ts). */
const DeletionAcceptedSchema = z.object({
  deletion_id: z.string(),
  status: DeletionStatusSchema,
  service: LedgerServiceSchema,
  project_id: z.string(),
  location: z.string(),
  /** True when this request found the deletion already in flight and sent nothing upstream. */
  replayed: z.boolean(),
});

/** The one error shape (lib/http/error-response.ts ErrorBodySchema), restated for the document. */
const ErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
    request_id: z.string(),
  }),
});

export function openApiDocument(version: string): JsonObject {
  const deleteRoute = (summary: string, path: z.ZodObject, extra: JsonObject = {}) => ({
    delete: {
      summary,
      parameters: [...parameters(path, 'path'), ...((extra.query as JsonObject[] | undefined) ?? [])],
      ...(extra.requestBody ? { requestBody: extra.requestBody } : {}),
      responses: deletionResponses(),
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'hwc-retention',
      version,
      description:
        'Huawei Cloud backup and checkpoint deletion behind API Gateway (HTTP API, IAM auth: sign requests with SigV4 for execute-api). Paths mirror Huawei’s own under a service prefix. Generated from the zod schemas by npm run schemas.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    security: [{ sigv4: [] }],
    paths: {
      '/csbs/v1/{project_id}/providers/{provider_id}/checkpoints/{checkpoint_id}': deleteRoute(
        'Delete a CSBS checkpoint, or some of its items',
        CsbsPathSchema,
        {
          query: [
            {
              name: 'checkpoint_items',
              in: 'query',
              required: false,
              description: 'Item ids, repeated or comma-separated; omitted: every item of the checkpoint',
              schema: { type: 'string' },
            },
          ],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: component(input(CsbsBodySchema)) } },
          },
        },
      ),
      '/cbr/v3/{project_id}/backups/{backup_id}': deleteRoute('Delete a CBR backup', CbrPathSchema),
      '/dds/v3/{project_id}/backups/{backup_id}': deleteRoute('Delete a DDS manual backup', DdsPathSchema),
      '/dis/v2/{project_id}/checkpoints': deleteRoute('Delete a DIS consumer checkpoint', ProjectPathSchema, {
        query: parameters(DisQuerySchema, 'query'),
      }),
      '/deletions/{deletion_id}': {
        get: {
          summary: 'A deletion’s state, refreshed from upstream while it runs',
          parameters: parameters(DeletionPathSchema, 'path'),
          responses: {
            '200': {
              description: 'The deletion',
              headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Deletion' } } },
            },
            ...errorResponses([400, 401, 404, 500, 502, 503]),
          },
        },
      },
      '/sweeps/{sweep_id}': {
        get: {
          summary: 'A stored sweep: status, totals and per-target counts',
          parameters: parameters(SweepPathSchema, 'path'),
          responses: {
            '200': {
              description: 'The sweep',
              headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepView' } } },
            },
            ...errorResponses([400, 401, 404, 500, 503]),
          },
        },
      },
      '/sweeps/{sweep_id}/report': {
        get: {
          summary: 'A stored sweep as the report page (Accept: text/html) or its model as JSON',
          parameters: parameters(SweepPathSchema, 'path'),
          responses: {
            '200': {
              description: 'The report',
              content: {
                'text/html': { schema: { type: 'string' } },
                'application/json': { schema: { $ref: '#/components/schemas/ReportModel' } },
              },
            },
            ...errorResponses([400, 401, 404, 500, 503]),
          },
        },
      },
      '/sweeps/{sweep_id}/approve': {
        post: {
          summary:
            'Approve a stored plan (a dry run, or a sweep awaiting approval) by its plan_hash and apply it: the approved deletions a fresh plan still makes, nothing else',
          parameters: parameters(SweepPathSchema, 'path'),
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ApproveRequest' } } },
          },
          responses: {
            '200': {
              description:
                'The approved run ran to its end: its report (approval.skipped lists what it left out and why)',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepReport' } } },
            },
            '202': {
              description:
                'The approved run stopped at the invocation deadline (status aborted: POST /sweeps with its sweep_id and dry_run false resumes it) or went to the queue (status queued)',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepReport' } } },
            },
            ...errorResponses([400, 401, 403, 404, 409, 410, 415, 500, 502, 503]),
          },
        },
      },
      '/sweeps': {
        post: {
          summary: 'Run a sweep now (same code as the schedule); dry_run: plan and report, delete nothing',
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepRequest' } } },
          },
          responses: {
            '200': {
              description: 'The sweep ran to its end: the report',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepReport' } } },
            },
            '202': {
              description:
                'Stopped at the invocation deadline (status aborted: POST the same sweep_id again to resume), handed to the queue (status queued), or waiting for approval (status awaiting_approval: approval.sweep_id and plan_hash say what to approve)',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepReport' } } },
            },
            ...errorResponses([400, 401, 403, 409, 415, 500, 502, 503]),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 for service execute-api; the caller needs execute-api:Invoke',
        },
      },
      headers: {
        RequestId: { schema: { type: 'string' }, description: 'This request’s id (also in error bodies)' },
        UpstreamRequestId: {
          schema: { type: 'string' },
          description: 'Huawei Cloud’s request id, where one was called',
        },
      },
      schemas: {
        Error: component(output(ErrorSchema)),
        DeletionAccepted: component(output(DeletionAcceptedSchema)),
        Deletion: component(output(DeletionViewSchema)),
        SweepRequest: {
          ...component(input(SweepRequestSchema)),
          properties: {
            ...(component(input(SweepRequestSchema)).properties as JsonObject),
            policy: {
              $ref: '#/components/schemas/Policy',
              description: 'A whole policy instead of the configured one',
            },
          },
        },
        SweepReport: component(output(SweepReportSchema)),
        ApproveRequest: component(input(ApproveRequestSchema)),
        SweepView: component(output(SweepViewSchema)),
        ReportModel: component(output(ReportModelSchema)),
        Policy: component(input(PolicySchema)),
      },
    },
  };
}

/** The files `npm run schemas` writes, by path, as their exact text. */
export function contractFiles(version: string): Record<string, string> {
  const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return { [POLICY_SCHEMA_FILE]: text(policyJsonSchema()), [OPENAPI_FILE]: text(openApiDocument(version)) };
}
