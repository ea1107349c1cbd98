/** The responses of GET /sweeps/{id} and GET /sweeps/{id}/report (functions/get-sweep.ts wires middy around them). */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ResourceNotFoundError } from '../http/errors.ts';
import { jsonResponse } from '../http/responses.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { renderReportHtml } from './html.ts';
import { loadStoredSweep, reportFromStoredSweep, type StoredSweep, sweepView } from './stored-sweep.ts';

async function storedOrNotFound(ledger: Ledger, sweepId: string): Promise<StoredSweep> {
  const stored = await loadStoredSweep(ledger, sweepId);
  if (stored === undefined) throw new ResourceNotFoundError('sweep', sweepId);
  return stored;
}

export async function sweepViewResponse(
  ledger: Ledger,
  sweepId: string,
): Promise<APIGatewayProxyStructuredResultV2> {
  return jsonResponse(200, sweepView(await storedOrNotFound(ledger, sweepId)));
}

/** True when the client asks for HTML (`Accept: text/html`, as a browser sends). */
export function wantsHtml(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some((part) => part.trim().split(';')[0]?.trim().toLowerCase() === 'text/html');
}

export async function sweepReportResponse(
  ledger: Ledger,
  sweepId: string,
  accept: string | undefined,
): Promise<APIGatewayProxyStructuredResultV2> {
  const model = reportFromStoredSweep(await storedOrNotFound(ledger, sweepId));
  if (!wantsHtml(accept)) return jsonResponse(200, model);
  return {
    statusCode: 200,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      Vary: 'Accept',
    },
    body: renderReportHtml(model),
  };
}
