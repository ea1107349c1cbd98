/**
 * POST /sweeps/{sweep_id}/approve — body `{"plan_hash": "sha256:..."}`: approves a stored plan (a dry run of
 * POST /sweeps, or a sweep that ended `awaiting_approval`) and applies it: only the approved deletions the
 * fresh plan still makes are sent, the others are skipped with their reason (lib/approval/approve.ts). The
 * approver is the caller's IAM principal, recorded with the run. 200 with the run's report; 202 when it
 * stopped at the API's time limit (POST /sweeps with `{"sweep_id": "<run id>", "dry_run": false}` resumes it)
 * or went to the queue; 409 PLAN_HASH_MISMATCH / POLICY_CHANGED / ALREADY_APPROVED / SWEEP_RUNNING, 410
 * APPROVAL_EXPIRED, 404 PLAN_NOT_FOUND, with nothing sent.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpMiddleware } from '../lib/http/index.ts';

/** The approval's code, evaluated on the first invocation (lib/approval/entry.ts says why). */
const work = () => import('../lib/approval/entry.ts');

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware({ jsonBody: 'required' }))
  .handler(async (event, context) => (await work()).approveHttp(event, context));
