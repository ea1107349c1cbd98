/** The ledger chosen by configuration (LEDGER=dynamodb|local), created once per process. */
import { type Config, config } from '../config.ts';
import { createDynamoLedger } from './dynamodb.ts';
import type { Ledger, LedgerOptions } from './ledger.ts';
import { openLocalLedger } from './local.ts';

export async function createLedger(cfg: Config, options: LedgerOptions = {}): Promise<Ledger> {
  const shared = { retentionDays: cfg.ledger.retentionDays, ...options };
  if (cfg.ledger.kind === 'dynamodb') {
    return createDynamoLedger({
      ...shared,
      // loadConfig guarantees a table when LEDGER=dynamodb.
      tableName: cfg.ledger.table ?? '',
      ...(cfg.ledger.dynamodbEndpoint === undefined ? {} : { endpoint: cfg.ledger.dynamodbEndpoint }),
      ...(cfg.awsRegion === undefined ? {} : { region: cfg.awsRegion }),
    });
  }
  return openLocalLedger(cfg.ledger.dir, shared);
}

let shared: Promise<Ledger> | undefined;

/** The process-wide ledger from `config()`, reused across invocations. */
export function ledger(): Promise<Ledger> {
  shared ??= createLedger(config()).catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

export * from './dynamodb.ts';
export * from './errors.ts';
export * from './ledger.ts';
export * from './local.ts';
export * from './schema.ts';
export * from './table.ts';
