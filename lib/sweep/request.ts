/**
 * What starts a sweep: the body of `POST /sweeps` or the `detail` of an EventBridge schedule event. Unknown
 * fields are rejected; a policy override is validated by the same PolicySchema as the bundled file.
 *
 * Safe by default: a POST is a dry run unless its body says `"dry_run": false` (no body, `null` and `{}` are dry
 * runs), and an inline policy is accepted only with a dry run — a real sweep deletes by the configured policy
 * (POLICY_FILE or POLICY_SSM_PARAMETER) only, never by one the caller brings. The schedule is a real sweep of
 * the configured policy.
 */
import { z } from 'zod';
import { POLICY_LIMITS } from '../retention/policy.ts';

export const SweepIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits, _ . : -');

/** The `{sweep_id}` path parameter of GET /sweeps/{sweep_id} and POST /sweeps/{sweep_id}/approve. */
export const SweepPathSchema = z.strictObject({ sweep_id: SweepIdSchema });

const sweepFields = {
  /** Only these policy targets delete (every target's keep rules still veto). */
  targets: z.array(z.string().min(1)).min(1).max(POLICY_LIMITS.maxTargets).optional(),
  /** Reuse to resume a sweep that stopped early; default: a new id. */
  sweep_id: SweepIdSchema.optional(),
};

export const INLINE_POLICY_NEEDS_DRY_RUN =
  'an inline policy is accepted only with a dry run; a real sweep uses the configured policy (POLICY_FILE or POLICY_SSM_PARAMETER)';

/** No body at all, an empty one and `null` all mean "no options": a dry run of the configured policy. */
const noOptions = (value: unknown) => (value === undefined || value === null || value === '' ? {} : value);

export const SweepRequestSchema = z.preprocess(
  noOptions,
  z
    .strictObject({
      /** Default true: only `"dry_run": false` deletes. */
      dry_run: z.boolean().default(true),
      /** A whole policy instead of the configured one, dry runs only (validated with PolicySchema by the caller). */
      policy: z.unknown().optional(),
      ...sweepFields,
    })
    .superRefine((request, ctx) => {
      if (request.policy !== undefined && !request.dry_run) {
        ctx.addIssue({ code: 'custom', path: ['policy'], message: INLINE_POLICY_NEEDS_DRY_RUN });
      }
    }),
);
export type SweepRequest = z.output<typeof SweepRequestSchema>;

/** The schedule's `detail`: a real sweep of the configured policy unless it says `"dry_run": true`. */
export const ScheduledSweepRequestSchema = z.preprocess(
  noOptions,
  z.strictObject({ dry_run: z.boolean().default(false), ...sweepFields }),
);
