/** The HTTP answers for deletions: 204 when done, 202 + Location while running, 200 for a status read. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { jsonResponse, noContent } from '../http/responses.ts';
import type { DeletionState, RequestedDeletion } from './requests.ts';
import { deletionLocation } from './view.ts';

export const DELETION_ID_HEADER = 'X-Deletion-Id';

export function requestedDeletionResponse(result: RequestedDeletion): APIGatewayProxyStructuredResultV2 {
  const id = result.deletion.deletion_id;
  const upstream =
    result.upstreamRequestId === undefined ? {} : { upstreamRequestId: result.upstreamRequestId };
  if (result.kind === 'done') {
    const response = noContent(upstream);
    return { ...response, headers: { ...response.headers, [DELETION_ID_HEADER]: id } };
  }
  return jsonResponse(
    202,
    {
      deletion_id: id,
      status: result.deletion.status,
      service: result.deletion.service,
      project_id: result.deletion.project_id,
      location: deletionLocation(id),
      replayed: result.replayed,
    },
    { ...upstream, headers: { Location: deletionLocation(id), [DELETION_ID_HEADER]: id } },
  );
}

export function deletionStateResponse(state: DeletionState): APIGatewayProxyStructuredResultV2 {
  return jsonResponse(
    200,
    state.deletion,
    state.upstreamRequestId === undefined ? {} : { upstreamRequestId: state.upstreamRequestId },
  );
}
