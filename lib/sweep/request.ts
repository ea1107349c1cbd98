/**
 * What starts a sweep: the body of `POST /sweeps` or the `detail` of an EventBridge schedule event. Unknown
 * fields are rejected; a policy override is validated by the same PolicySchema as the bundled file.
 */
import { z } from 'zod';

export const SweepIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits, _ . : -');

export const SweepRequestSchema = z.strictObject({
  dry_run: z.boolean().default(false),
  /** Only these policy targets delete (every target's keep rules still veto). */
  targets: z.array(z.string().min(1)).min(1).optional(),
  /** A whole policy instead of the configured one (validated with PolicySchema by the caller). */
  policy: z.unknown().optional(),
  /** Reuse to resume a sweep that stopped early; default: a new id. */
  sweep_id: SweepIdSchema.optional(),
});
export type SweepRequest = z.infer<typeof SweepRequestSchema>;
