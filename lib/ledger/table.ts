/**
 * The single-table design, shared by the DynamoDB store, serverless.yml and the DynamoDB Local test helper.
 *
 *   deletion       pk = DEL#<deletion_id>   sk = DEL                 gsi1pk = SWEEP#<sweep_id>  gsi1sk = DEL#<deletion_id>
 *   sweep header   pk = SWEEP#<sweep_id>    sk = SWEEP               gsi2pk = HIST#<policy key>  gsi2sk = <finished_at>#<sweep_id>
 *   planned item   pk = SWEEP#<sweep_id>    sk = ITEM#<deletion_id>
 *
 * gsi1 is sparse (only deletions that belong to a sweep). gsi2 is sparse too: a real sweep's header carries
 * gsi2pk when it stores a history, and gets gsi2sk (finish time, 15 digits, then the id) when it finishes, so
 * the index holds exactly the policy's finished sweeps, newest last; it projects only what the history breaker
 * reads. Every item carries `expires_at` (epoch seconds, TTL).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TTL_ATTRIBUTE = 'expires_at';
export const SWEEP_INDEX = 'gsi1';
export const HISTORY_INDEX = 'gsi2';
/** The non-key attributes gsi2 projects (serverless.yml repeats them). */
export const HISTORY_PROJECTION = ['sweep_id', 'dry_run', 'history', 'outcome', 'finished_at'];

export const keys = {
  deletion: (id: string) => ({ pk: `DEL#${id}`, sk: 'DEL' }),
  deletionInSweep: (sweepId: string, id: string) => ({ gsi1pk: `SWEEP#${sweepId}`, gsi1sk: `DEL#${id}` }),
  sweepPartition: (sweepId: string) => `SWEEP#${sweepId}`,
  sweepHeader: (sweepId: string) => ({ pk: `SWEEP#${sweepId}`, sk: 'SWEEP' }),
  plannedItem: (sweepId: string, deletionId: string) => ({
    pk: `SWEEP#${sweepId}`,
    sk: `ITEM#${deletionId}`,
  }),
  historyPartition: (policyKey: string) => `HIST#${policyKey}`,
  historySort: (finishedAt: number, sweepId: string) => `${String(finishedAt).padStart(15, '0')}#${sweepId}`,
} as const;

/** CreateTable input for the ledger (pay per request); enable TTL on `expires_at` separately. */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
      { AttributeName: 'gsi2pk', AttributeType: 'S' },
      { AttributeName: 'gsi2sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: SWEEP_INDEX,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: HISTORY_INDEX,
        KeySchema: [
          { AttributeName: 'gsi2pk', KeyType: 'HASH' },
          { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: HISTORY_PROJECTION },
      },
    ],
  };
}
