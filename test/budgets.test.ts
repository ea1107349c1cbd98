import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  assertBudgets,
  BUDGETS,
  BudgetViolationError,
  budgetViolations,
  CLIENT_RETRY,
  CLIENT_TIMEOUTS,
  clientCallMaxMs,
} from '../lib/budgets.ts';
import { DEFAULT_RETRY, DEFAULT_TIMEOUTS } from '../lib/huawei/client.ts';
import { documentClient } from '../lib/ledger/dynamodb.ts';
import { DEFAULT_IDEMPOTENCY_WINDOW_MS } from '../lib/ledger/ledger.ts';
import { TRACKING_CEILING_MS } from '../lib/sweep/backoff.ts';
import { DEFAULT_LEASE_MS } from '../lib/sweep/queued/worker.ts';
import { DEFAULT_STALE_AFTER_MS } from '../lib/sweep/step.ts';

describe('lib/budgets.ts', () => {
  it('holds every relation it asserts', () => {
    expect(budgetViolations(BUDGETS)).toEqual([]);
    expect(() => assertBudgets(BUDGETS)).not.toThrow();
  });

  it('orders stale-after > the longest client call > the HTTP invocation', () => {
    expect(BUDGETS.clientCallMaxMs).toBe(clientCallMaxMs(CLIENT_RETRY, CLIENT_TIMEOUTS));
    expect(BUDGETS.staleAfterMs).toBeGreaterThan(BUDGETS.clientCallMaxMs);
    expect(BUDGETS.clientCallMaxMs).toBeGreaterThan(BUDGETS.httpInvocationMs);
  });

  it('bounds a DynamoDB ledger call so one started at the deadline ends inside the HTTP margin', async () => {
    const client = documentClient('http://127.0.0.1:9', 'eu-west-1');
    expect(await client.config.maxAttempts()).toBe(BUDGETS.ledgerMaxAttempts);
    expect(BUDGETS.ledgerMaxAttempts * BUDGETS.ledgerRequestTimeoutMs).toBeLessThan(BUDGETS.httpMarginMs);
    const slow = budgetViolations({ ...BUDGETS, ledgerRequestTimeoutMs: 5_000 });
    expect(slow).toContainEqual(expect.stringContaining('ledgerMaxAttempts x ledgerRequestTimeoutMs'));
  });

  it('fits the outcome notice after the report write in the worker, HTTP and schedule margins', () => {
    const slow = budgetViolations({ ...BUDGETS, notifyPublishMaxMs: 4_000 });
    expect(slow).toEqual([
      expect.stringContaining('httpInvocationMs (29000 ms) must exceed sweepHttpBudgetMs + a ledger write'),
      expect.stringContaining(
        'workerMarginMs (5000 ms) must exceed a ledger write + notifyPublishMaxMs (5800 ms)',
      ),
    ]);
    expect(budgetViolations({ ...BUDGETS, notifyRequestTimeoutMs: 1_000 })).toEqual([
      expect.stringContaining(
        'notifyPublishMaxMs (2000 ms) must exceed notifyMaxAttempts x notifyRequestTimeoutMs',
      ),
    ]);
  });

  it('fails fast naming both sides when a change breaks a relation', () => {
    const broken = { ...BUDGETS, staleAfterMs: 60_000, laneLeaseMs: 30_000 };
    const error = (() => {
      try {
        assertBudgets(broken);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(BudgetViolationError);
    const message = (error as Error).message;
    expect(message).toContain('staleAfterMs (60000 ms) must exceed clientCallMaxMs (185000 ms)');
    expect(message).toContain('laneLeaseMs (30000 ms) must exceed workerInvocationMs (60000 ms)');
    expect((error as BudgetViolationError).violations).toHaveLength(2);
  });

  it('is what the modules that use the budgets read under their old names', () => {
    expect(DEFAULT_RETRY).toEqual(CLIENT_RETRY);
    expect(DEFAULT_TIMEOUTS).toEqual(CLIENT_TIMEOUTS);
    expect(DEFAULT_STALE_AFTER_MS).toBe(BUDGETS.staleAfterMs);
    expect(DEFAULT_LEASE_MS).toBe(BUDGETS.laneLeaseMs);
    expect(TRACKING_CEILING_MS).toBe(BUDGETS.trackingCeilingMs);
    expect(DEFAULT_IDEMPOTENCY_WINDOW_MS).toBe(BUDGETS.idempotencyWindowMs);
  });

  it('agrees with the timeouts serverless.yml deploys', () => {
    const yml = parseDocument(readFileSync(new URL('../serverless.yml', import.meta.url), 'utf8'), {
      // CloudFormation tags (!Ref, !GetAtt, ...) are kept as plain values.
      customTags: ['Ref', 'GetAtt', 'If', 'Sub', 'Equals', 'Not', 'Join'].flatMap((tag) => [
        { tag: `!${tag}`, resolve: (value: unknown) => value },
        { tag: `!${tag}`, collection: 'seq' as const, resolve: (value: unknown) => value },
      ]),
    }).toJS() as {
      provider: { timeout: number };
      functions: Record<string, { timeout?: number }>;
      resources: { Resources: { SweepQueue: { Properties: { VisibilityTimeout: number } } } };
    };
    const timeoutMs = (name: string) => (yml.functions[name]?.timeout ?? yml.provider.timeout) * 1000;
    for (const name of [
      'deleteCsbsCheckpoint',
      'deleteCbrBackup',
      'deleteDdsBackup',
      'deleteDisCheckpoint',
    ]) {
      expect(timeoutMs(name)).toBe(BUDGETS.httpInvocationMs);
    }
    expect(timeoutMs('getDeletion')).toBe(BUDGETS.httpInvocationMs);
    expect(timeoutMs('sweepApi')).toBe(BUDGETS.httpInvocationMs);
    expect(timeoutMs('sweep')).toBe(BUDGETS.sweepInvocationMs);
    expect(timeoutMs('deleteWorker')).toBe(BUDGETS.workerInvocationMs);
    expect(yml.resources.Resources.SweepQueue.Properties.VisibilityTimeout * 1000).toBe(
      BUDGETS.queueVisibilityMs,
    );
  });
});
