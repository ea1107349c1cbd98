/**
 * The single-table design, shared by the DynamoDB store, serverless.yml and the DynamoDB Local test helper.
 *
 *   deletion       pk = DEL#<deletion_id>   sk = DEL                 gsi1pk = SWEEP#<sweep_id>  gsi1sk = DEL#<deletion_id>
 *   sweep header   pk = SWEEP#<sweep_id>    sk = SWEEP
 *   planned item   pk = SWEEP#<sweep_id>    sk = ITEM#<deletion_id>
 *
 * gsi1 is sparse (only deletions that belong to a sweep). Every item carries `expires_at` (epoch seconds, TTL).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TTL_ATTRIBUTE = 'expires_at';
export const SWEEP_INDEX = 'gsi1';

export const keys = {
  deletion: (id: string) => ({ pk: `DEL#${id}`, sk: 'DEL' }),
  deletionInSweep: (sweepId: string, id: string) => ({ gsi1pk: `SWEEP#${sweepId}`, gsi1sk: `DEL#${id}` }),
  sweepPartition: (sweepId: string) => `SWEEP#${sweepId}`,
  sweepHeader: (sweepId: string) => ({ pk: `SWEEP#${sweepId}`, sk: 'SWEEP' }),
  plannedItem: (sweepId: string, deletionId: string) => ({
    pk: `SWEEP#${sweepId}`,
    sk: `ITEM#${deletionId}`,
  }),
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
    ],
  };
}
