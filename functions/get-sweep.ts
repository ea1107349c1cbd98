/**
 * GET /sweeps/{sweep_id} — a stored sweep's status, totals and per-target counts (JSON).
 * GET /sweeps/{sweep_id}/report — the same sweep as the HTML report page (`Accept: text/html`), or its report
 * model as JSON otherwise.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpMiddleware, parseWith } from '../lib/http/index.ts';
import { sweepReportResponse, sweepViewResponse } from '../lib/report/http.ts';
import { runtime } from '../lib/runtime.ts';
import { SweepPathSchema } from '../lib/sweep/request.ts';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware())
  .handler(async (event) => {
    const path = parseWith(SweepPathSchema, event.pathParameters, 'path');
    const { ledger } = await runtime();
    return event.routeKey.endsWith('/report')
      ? sweepReportResponse(ledger, path.sweep_id, event.headers?.accept)
      : sweepViewResponse(ledger, path.sweep_id);
  });
