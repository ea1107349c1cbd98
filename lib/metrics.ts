/**
 * Sweep metrics as CloudWatch Embedded Metric Format lines (Powertools Metrics): CloudWatch Logs turns each
 * line into metric data points, so no PutMetricData call and no extra permission. One line per dimension set:
 *
 * - the sweep (dimension `service` only): Planned, Deleted, Failed, Throttled, BreakerRefusals, DurationMs and
 *   NotCompleted (1 when a real run stopped before its end: status `aborted`);
 * - per target (`target`, `backup_service`): Planned, Deleted, Failed, BreakerRefusals (1 when the breaker
 *   refused that target), DurationMs;
 * - per backup service (`backup_service`): Planned, Deleted, Failed, Throttled.
 *
 * Deleted counts `deleted` and `already_gone` (the backup is gone either way); Failed counts `failed` and
 * `skipped`; Throttled counts the lanes' throttle pauses (an upstream 429 that slowed the lane). The sweep id,
 * status and mode go in as metadata (in the log line, not dimensions: a dimension per sweep id would create a
 * metric per run). Dry runs publish nothing: they delete nothing, and a refused dry run is answered as such.
 * serverless.yml's alarms read these names; the Powertools package is loaded on the first publish only.
 */
import type { SweepReport, TargetReport } from './sweep/report.ts';

export const METRICS_NAMESPACE = 'hwc-retention';
export const METRICS_SERVICE = 'hwc-retention';

/** The metric names serverless.yml's alarms and the dashboards read. */
export const SWEEP_METRICS = Object.freeze({
  planned: 'Planned',
  deleted: 'Deleted',
  failed: 'Failed',
  throttled: 'Throttled',
  refused: 'BreakerRefusals',
  duration: 'DurationMs',
  notCompleted: 'NotCompleted',
});

export interface SweepMetricsOptions {
  readonly namespace?: string;
  readonly serviceName?: string;
}

type Line = {
  readonly dimensions: Readonly<Record<string, string>>;
  readonly counts: Readonly<Record<string, number>>;
  readonly durationMs?: number;
};

function gone(counts: Pick<TargetReport, 'deleted' | 'already_gone'>): number {
  return counts.deleted + counts.already_gone;
}
function failed(counts: Pick<TargetReport, 'failed' | 'skipped'>): number {
  return counts.failed + counts.skipped;
}

/** The lines a report publishes (pure; `throttledByService` counts lane throttle pauses per service). */
export function sweepMetricLines(
  report: SweepReport,
  throttledByService: ReadonlyMap<string, number>,
): Line[] {
  if (report.dry_run) return [];
  const refusedTargets = new Set((report.refused ?? []).map((refusal) => refusal.target));
  const m = SWEEP_METRICS;
  const throttled = [...throttledByService.values()].reduce((sum, n) => sum + n, 0);
  const lines: Line[] = [
    {
      dimensions: {},
      counts: {
        [m.planned]: report.totals.planned,
        [m.deleted]: gone(report.totals),
        [m.failed]: failed(report.totals),
        [m.throttled]: throttled,
        [m.refused]: refusedTargets.size,
        [m.notCompleted]: report.status === 'aborted' ? 1 : 0,
      },
      durationMs: report.duration_ms,
    },
  ];
  const services = new Map<string, { planned: number; deleted: number; failed: number }>();
  for (const target of report.targets) {
    lines.push({
      dimensions: { target: target.name, backup_service: target.service },
      counts: {
        [m.planned]: target.planned,
        [m.deleted]: gone(target),
        [m.failed]: failed(target),
        [m.refused]: refusedTargets.has(target.name) ? 1 : 0,
      },
      durationMs: target.duration_ms,
    });
    const service = services.get(target.service) ?? { planned: 0, deleted: 0, failed: 0 };
    service.planned += target.planned;
    service.deleted += gone(target);
    service.failed += failed(target);
    services.set(target.service, service);
  }
  for (const name of throttledByService.keys()) {
    if (!services.has(name)) services.set(name, { planned: 0, deleted: 0, failed: 0 });
  }
  for (const [name, counts] of services) {
    lines.push({
      dimensions: { backup_service: name },
      counts: {
        [m.planned]: counts.planned,
        [m.deleted]: counts.deleted,
        [m.failed]: counts.failed,
        [m.throttled]: throttledByService.get(name) ?? 0,
      },
    });
  }
  return lines;
}

/** Writes the report's EMF lines to stdout (one Powertools Metrics flush per dimension set). */
export async function publishSweepMetrics(
  report: SweepReport,
  throttledByService: ReadonlyMap<string, number>,
  options: SweepMetricsOptions = {},
): Promise<number> {
  const lines = sweepMetricLines(report, throttledByService);
  if (lines.length === 0) return 0;
  const { Metrics, MetricUnit } = await import('@aws-lambda-powertools/metrics');
  for (const line of lines) {
    const metrics = new Metrics({
      namespace: options.namespace ?? METRICS_NAMESPACE,
      serviceName: options.serviceName ?? METRICS_SERVICE,
      ...(Object.keys(line.dimensions).length === 0 ? {} : { defaultDimensions: { ...line.dimensions } }),
    });
    metrics.addMetadata('sweep_id', report.sweep_id);
    metrics.addMetadata('status', report.status);
    metrics.addMetadata('mode', report.mode);
    for (const [name, value] of Object.entries(line.counts)) metrics.addMetric(name, MetricUnit.Count, value);
    if (line.durationMs !== undefined)
      metrics.addMetric(SWEEP_METRICS.duration, MetricUnit.Milliseconds, line.durationMs);
    metrics.publishStoredMetrics();
  }
  return lines.length;
}
