/**
 * The AWS SDK v3 classes this code constructs, each package loaded on first use instead of at import.
 *
 * The SDK is not bundled (the Lambda runtime provides it), and in the single-file ESM bundles every
 * `import ... from '@aws-sdk/...'` anywhere in a function's code is a top-level import evaluated at cold start:
 * the DynamoDB client alone is ~100 ms of CPU and ~20 MiB here, loaded by every function whose code merely
 * mentions the ledger. The classes below stand in for the SDK's: `new GetCommand(input)` or
 * `DynamoDBDocumentClient.from(...)` loads the package then (synchronously, through Node's `require`: the
 * SDK's packages are CommonJS) and returns the SDK's own object, so callers, `aws-sdk-client-mock` and
 * `instanceof` see exactly the SDK's classes. A process that never sends a command never loads the package.
 * `require` finds the SDK where an import would: beside the code, and on Lambda through NODE_PATH, which the
 * Node.js runtime's bootstrap sets to include the runtime's own `/var/runtime/node_modules`.
 *
 * Import SDK *values* from here, never from `@aws-sdk/*` directly (types are fine): a direct import brings the
 * package back into every bundle that reaches it (test/deploy/lazy-sdk.test.ts checks the built bundles).
 */
import { createRequire } from 'node:module';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import type * as Sns from '@aws-sdk/client-sns';
import type * as Sqs from '@aws-sdk/client-sqs';
import type * as DocumentDb from '@aws-sdk/lib-dynamodb';

export type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';

const requireSdk = createRequire(import.meta.url);

function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= requireSdk(specifier) as T;
    return loaded;
  };
}

/** A class of a lazily loaded package: `new`, static members and `instanceof` reach the real class. */
function lazyClass<C extends object>(real: () => C): C {
  // A plain function is the one target that is constructible and whose `prototype` may be redirected.
  const target = function lazySdkClass() {} as unknown as C;
  return new Proxy(target, {
    construct: (_target, args) =>
      Reflect.construct(real() as unknown as new (...a: unknown[]) => object, args),
    get: (_target, key) => Reflect.get(real(), key),
    has: (_target, key) => Reflect.has(real(), key),
  });
}

const dynamoDb = lazyModule<typeof DynamoDb>('@aws-sdk/client-dynamodb');
const documentDb = lazyModule<typeof DocumentDb>('@aws-sdk/lib-dynamodb');
const sqs = lazyModule<typeof Sqs>('@aws-sdk/client-sqs');
const sns = lazyModule<typeof Sns>('@aws-sdk/client-sns');

export const DynamoDBClient = lazyClass(() => dynamoDb().DynamoDBClient);
export type DynamoDBClient = DynamoDb.DynamoDBClient;

export const DynamoDBDocumentClient = lazyClass(() => documentDb().DynamoDBDocumentClient);
export type DynamoDBDocumentClient = DocumentDb.DynamoDBDocumentClient;
export const BatchWriteCommand = lazyClass(() => documentDb().BatchWriteCommand);
export type BatchWriteCommand = DocumentDb.BatchWriteCommand;
export const DeleteCommand = lazyClass(() => documentDb().DeleteCommand);
export type DeleteCommand = DocumentDb.DeleteCommand;
export const GetCommand = lazyClass(() => documentDb().GetCommand);
export type GetCommand = DocumentDb.GetCommand;
export const PutCommand = lazyClass(() => documentDb().PutCommand);
export type PutCommand = DocumentDb.PutCommand;
export const QueryCommand = lazyClass(() => documentDb().QueryCommand);
export type QueryCommand = DocumentDb.QueryCommand;
export const TransactWriteCommand = lazyClass(() => documentDb().TransactWriteCommand);
export type TransactWriteCommand = DocumentDb.TransactWriteCommand;
export const UpdateCommand = lazyClass(() => documentDb().UpdateCommand);
export type UpdateCommand = DocumentDb.UpdateCommand;

export const SQSClient = lazyClass(() => sqs().SQSClient);
export type SQSClient = Sqs.SQSClient;
export const SendMessageBatchCommand = lazyClass(() => sqs().SendMessageBatchCommand);
export type SendMessageBatchCommand = Sqs.SendMessageBatchCommand;

export const SNSClient = lazyClass(() => sns().SNSClient);
export type SNSClient = Sns.SNSClient;
export const PublishCommand = lazyClass(() => sns().PublishCommand);
export type PublishCommand = Sns.PublishCommand;
