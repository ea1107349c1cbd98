/**
 * A saved plan (`npm run plan -- --policy FILE --save PLAN.json`): the policy as a document, the sweep's plan
 * (summary per target and every planned deletion with its deletion id) and its hash, versioned and read back
 * through PlanFileSchema. `npm run sweep -- --plan PLAN.json --approve HASH` applies it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../cli/exit.ts';
import { readInputFile } from '../cli/files.ts';
import { PlannedItemSchema } from '../ledger/schema.ts';
import { type Policy, parsePolicy } from '../retention/policy.ts';
import { type SweepPlan, SweepSummarySchema } from '../sweep/plan-sweep.ts';
import { SweepIdSchema } from '../sweep/request.ts';
import { newSweepId } from '../sweep/sweep.ts';
import { ApprovalError } from './errors.ts';
import { planHash, policyDocument } from './plan-hash.ts';
import { PlanHashSchema } from './schema.ts';

export const PlanFileSchema = z.strictObject({
  format: z.literal('hwc-retention-plan'),
  version: z.literal(1),
  /** The plan's id: the sweep id its approval is recorded under in the ledger. */
  plan_id: SweepIdSchema,
  plan_hash: PlanHashSchema,
  /** The planner's `now` (also `summary.generated_at`): approvals are accepted until approval.expires_after. */
  planned_at: z.iso.datetime(),
  /** The policy as a document (durations as text); read back with PolicySchema. */
  policy: z.record(z.string(), z.unknown()),
  summary: SweepSummarySchema,
  items: z.array(PlannedItemSchema),
});
export type PlanFile = z.infer<typeof PlanFileSchema>;

/** The saved form of a sweep plan made with `policy`. */
export function planFile(policy: Policy, plan: Pick<SweepPlan, 'summary' | 'items'>, now: Date): PlanFile {
  return {
    format: 'hwc-retention-plan',
    version: 1,
    plan_id: newSweepId(now).replace(/^sweep-/, 'plan-'),
    plan_hash: planHash(policy, plan.items),
    planned_at: plan.summary.generated_at,
    policy: policyDocument(policy) as Record<string, unknown>,
    summary: plan.summary,
    items: plan.items,
  };
}

export function writePlanFile(file: string, plan: PlanFile): number {
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return Buffer.byteLength(text);
}

/**
 * Reads and checks a saved plan: unreadable, not JSON or not a plan → UsageError (exit 2); a file whose
 * content no longer hashes to its own plan_hash (edited after it was saved) → PLAN_HASH_MISMATCH (exit 1).
 */
export function readPlanFile(file: string): { plan: PlanFile; policy: Policy } {
  const text = readInputFile('--plan', file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--plan ${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = PlanFileSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new UsageError(`--plan ${file}: not a saved plan (${issues.join('; ')})`);
  }
  const plan = parsed.data;
  const policy = parsePolicy(plan.policy, `${file} policy`);
  if (planHash(policy, plan.items) !== plan.plan_hash) {
    throw new ApprovalError(
      'PLAN_HASH_MISMATCH',
      `--plan ${file}: its policy or items no longer hash to its plan_hash (changed after it was saved); nothing was deleted`,
      { plan_id: plan.plan_id },
    );
  }
  return { plan, policy };
}
