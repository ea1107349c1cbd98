import { z } from 'zod';
import { type SimService, seededRandom } from './fleet.ts';

/**
 * Fault injection, all from one config object. A rule applies to every request, a service, or one
 * operation of a service (the most specific wins, field by field). Draws come from a seeded generator,
 * so the same requests in the same order meet the same faults.
 */

const probability = z.number().min(0).max(1);

export const LatencySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), ms: z.number().min(0) }),
  z.object({ kind: z.literal('uniform'), minMs: z.number().min(0), maxMs: z.number().min(0) }),
  z.object({ kind: z.literal('normal'), meanMs: z.number().min(0), stdDevMs: z.number().min(0) }),
]);
export type Latency = z.infer<typeof LatencySchema>;

export const FaultRuleSchema = z.strictObject({
  latency: LatencySchema.optional(),
  /** Probability of 429 `APIG.0308` with `Retry-After: retryAfterSeconds`. */
  throttleRate: probability.optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
  /** Probability of a server error; the status is drawn uniformly from `serverErrorStatuses`. */
  serverErrorRate: probability.optional(),
  serverErrorStatuses: z
    .array(z.union([z.literal(500), z.literal(502), z.literal(503)]))
    .min(1)
    .optional(),
  /** Probability that the connection is reset (socket destroyed) instead of answered. */
  resetRate: probability.optional(),
  /** Probability that the request is never answered (until the client gives up or the simulator closes). */
  hangRate: probability.optional(),
});
export type FaultRule = z.infer<typeof FaultRuleSchema>;

const ServiceFaultsSchema = FaultRuleSchema.extend({
  /** Keyed by operation name without the service, e.g. `deleteBackup`, `listCheckpointItems`. */
  operations: z.record(z.string(), FaultRuleSchema).optional(),
});

export const FaultConfigSchema = z.strictObject({
  seed: z.number().int().optional(),
  all: FaultRuleSchema.optional(),
  services: z
    .strictObject({
      csbs: ServiceFaultsSchema.optional(),
      cbr: ServiceFaultsSchema.optional(),
      dds: ServiceFaultsSchema.optional(),
      dis: ServiceFaultsSchema.optional(),
      iam: ServiceFaultsSchema.optional(),
    })
    .optional(),
  /** Token bucket per project id: `ratePerSecond` refill, `burst` capacity; empty bucket → 429. */
  rateLimit: z
    .strictObject({ ratePerSecond: z.number().positive(), burst: z.number().int().positive() })
    .optional(),
});
export type FaultConfig = z.input<typeof FaultConfigSchema>;

export type FaultDecision =
  | { kind: 'none'; delayMs: number }
  | { kind: 'throttle'; delayMs: number; retryAfterSeconds: number }
  | { kind: 'server-error'; delayMs: number; status: 500 | 502 | 503 }
  | { kind: 'reset'; delayMs: number }
  | { kind: 'hang'; delayMs: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class FaultInjector {
  private config: z.infer<typeof FaultConfigSchema> = {};
  private random: () => number = seededRandom(1);
  private readonly buckets = new Map<string, Bucket>();
  private active = false;

  constructor(private readonly monotonicNow: () => number = () => performance.now()) {}

  configure(input: FaultConfig): void {
    this.config = FaultConfigSchema.parse(input);
    this.random = seededRandom(this.config.seed ?? 1);
    this.buckets.clear();
    this.active = this.config.all !== undefined || this.config.services !== undefined;
  }

  current(): z.infer<typeof FaultConfigSchema> {
    return this.config;
  }

  rule(service: SimService | 'iam', operation: string): FaultRule {
    const forService = this.config.services?.[service];
    return { ...this.config.all, ...forService, ...forService?.operations?.[operation] };
  }

  decide(service: SimService | 'iam', operation: string): FaultDecision {
    if (!this.active) return { kind: 'none', delayMs: 0 };
    const rule = this.rule(service, operation);
    const delayMs = rule.latency ? this.latency(rule.latency) : 0;
    // One draw per kind, always in the same order, so one rule's rate does not shift another's draws.
    const reset = this.random() < (rule.resetRate ?? 0);
    const hang = this.random() < (rule.hangRate ?? 0);
    const throttle = this.random() < (rule.throttleRate ?? 0);
    const serverError = this.random() < (rule.serverErrorRate ?? 0);
    const statusDraw = this.random();
    if (reset) return { kind: 'reset', delayMs };
    if (hang) return { kind: 'hang', delayMs };
    if (throttle) return { kind: 'throttle', delayMs, retryAfterSeconds: rule.retryAfterSeconds ?? 1 };
    if (serverError) {
      const statuses = rule.serverErrorStatuses ?? [500, 502, 503];
      return {
        kind: 'server-error',
        delayMs,
        status: statuses[Math.floor(statusDraw * statuses.length)] as 500 | 502 | 503,
      };
    }
    return { kind: 'none', delayMs };
  }

  private latency(latency: Latency): number {
    switch (latency.kind) {
      case 'fixed':
        return latency.ms;
      case 'uniform':
        return latency.minMs + this.random() * Math.max(0, latency.maxMs - latency.minMs);
      case 'normal': {
        // Box-Muller; clamp at zero.
        const u = Math.max(this.random(), Number.EPSILON);
        const v = this.random();
        const z0 = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return Math.max(0, latency.meanMs + z0 * latency.stdDevMs);
      }
    }
  }

  /** Takes a token from the project's bucket; returns seconds to wait when it is empty. */
  rateLimited(projectId: string): number | undefined {
    const limit = this.config.rateLimit;
    if (!limit) return undefined;
    const now = this.monotonicNow();
    const bucket = this.buckets.get(projectId) ?? { tokens: limit.burst, updatedAt: now };
    bucket.tokens = Math.min(
      limit.burst,
      bucket.tokens + ((now - bucket.updatedAt) / 1000) * limit.ratePerSecond,
    );
    bucket.updatedAt = now;
    this.buckets.set(projectId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.ratePerSecond));
  }
}
