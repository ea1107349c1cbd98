import type { EndpointResolver } from '../huawei/endpoints.ts';
import { HuaweiApiError, HuaweiAuthError } from '../huawei/errors.ts';
import { type Policy, resolveTargets } from '../retention/policy.ts';
import type { BackupService } from '../services/backup.ts';
import * as cbr from '../services/cbr.ts';
import * as csbs from '../services/csbs.ts';
import * as dds from '../services/dds.ts';
import type { HuaweiRequester } from '../services/deletion.ts';
import { projectRegion } from '../services/projects.ts';
import {
  CBR_BACKUP,
  CBR_VAULT,
  type ContractProblemKind,
  CSBS_ITEM,
  checkRecord,
  DDS_BACKUP,
  type RecordSpec,
} from '../services/wire-contract.ts';
import type { Fleet } from '../simulator/fleet.ts';
import { Anonymiser } from './anonymise.ts';
import { FleetRecorder } from './record.ts';

/**
 * `doctor`: checks, read-only, whether a sweep of `policy` would work against an account — credentials,
 * an endpoint per service and region, the clock against the server's `Date`, each project's region, the
 * permission of every list call — and runs every listed record through the SDK models restated in
 * lib/services/wire-contract.ts, counting what the project would otherwise silently ignore (unknown fields,
 * unknown enum values, unparsable times). It stops at the first 401: five in a row lock an AK for 5 minutes.
 */

export type CheckKind = 'credentials' | 'endpoint' | 'clock' | 'region' | 'permission';

export interface DoctorFinding {
  readonly check: CheckKind;
  readonly ok: boolean;
  readonly subject: string;
  readonly detail: string;
}

/** Per problem kind, per field path (array indexes dropped), how many records showed it. */
export type ProblemCounts = Record<ContractProblemKind, Record<string, number>>;

export interface RecordStats {
  records: number;
  problems: ProblemCounts;
}

export interface DoctorResult {
  readonly ok: boolean;
  /** Set when the doctor stopped early (a 401). */
  readonly stopped?: string;
  readonly findings: DoctorFinding[];
  readonly records: Record<string, RecordStats>;
  /** The anonymised fleet (when recording). */
  readonly fleet?: Fleet;
}

export interface DoctorDeps {
  readonly client: HuaweiRequester;
  readonly endpoints: EndpointResolver;
  /** How the credentials were found (e.g. `AK/SK from HUAWEICLOUD_SDK_AK`); undefined: none. */
  readonly credentials: string | undefined;
  readonly now?: () => number;
  /** Allowed |server Date − local clock| (the gateway rejects signatures beyond 15 minutes). */
  readonly maxSkewMs?: number;
  readonly signal?: AbortSignal;
}

export interface DoctorOptions {
  readonly record?: boolean;
  /** Salt of the anonymisation (default random); tests pin it. */
  readonly salt?: Buffer;
}

class StopDoctor extends Error {}

const emptyProblems = (): ProblemCounts => ({
  unknown_field: {},
  missing_field: {},
  wrong_type: {},
  unknown_value: {},
  bad_time: {},
});

export async function runDoctor(
  policy: Policy,
  deps: DoctorDeps,
  options: DoctorOptions = {},
): Promise<DoctorResult> {
  const findings: DoctorFinding[] = [];
  const records: Record<string, RecordStats> = {};
  const now = deps.now ?? Date.now;
  const maxSkew = deps.maxSkewMs ?? 15 * 60_000;
  const recorder = options.record ? new FleetRecorder(new Anonymiser(policy, options.salt)) : undefined;
  const add = (check: CheckKind, ok: boolean, subject: string, detail: string) =>
    findings.push({ check, ok, subject, detail });
  const targets = resolveTargets(policy);
  let stopped: string | undefined;
  let skewChecked = false;

  if (deps.credentials === undefined) {
    add(
      'credentials',
      false,
      'credentials',
      'none configured: set HUAWEICLOUD_SDK_AK/SK, or the IAM token settings',
    );
    return { ok: false, findings, records };
  }
  add('credentials', true, 'credentials', deps.credentials);

  // Endpoints: every (service, region) the policy touches, and IAM for each region (project lookups).
  const regions = [...new Set(targets.flatMap((target) => target.regions))];
  for (const target of targets) {
    for (const region of target.regions) {
      const known = deps.endpoints.has(target.service, region);
      add(
        'endpoint',
        known,
        `${target.service} ${region}`,
        known
          ? deps.endpoints.resolve(target.service, region).origin
          : 'no endpoint known: set HUAWEICLOUD_SDK_REGION_* or a regions file',
      );
    }
  }
  for (const region of regions) {
    if (!deps.endpoints.has('iam', region)) add('endpoint', false, `iam ${region}`, 'no endpoint known');
  }

  /** One upstream call with the doctor's bookkeeping: clock skew on the first answer, a 401 stops all. */
  async function attempt<T>(subject: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StopDoctor) throw error;
      if (error instanceof HuaweiAuthError && error.status === 401) {
        stopped = `${subject}: the credentials were rejected (HTTP 401 ${error.errorCode ?? ''} ${error.errorMessage ?? ''}). Check the AK/SK (or token); stopped after this one attempt, since five failures in a row lock an AK for 5 minutes.`;
        add('credentials', false, subject, stopped);
        throw new StopDoctor(stopped);
      }
      const denied = error instanceof HuaweiApiError && error.status === 403 ? 'no permission: ' : '';
      add('permission', false, subject, `${denied}${(error as Error).message}`);
      return undefined;
    }
  }

  /** Reads the server clock from the first answer of a plain request. */
  const clockProbe: HuaweiRequester = {
    async request(op, schema, requestOptions) {
      const response = await deps.client.request(op, schema, requestOptions);
      if (!skewChecked && response.headers.date) {
        skewChecked = true;
        const skew = Date.parse(response.headers.date) - now();
        const ok = Math.abs(skew) <= maxSkew;
        add(
          'clock',
          ok,
          'clock skew',
          `${Math.round(skew / 1000)} s against the server's Date (limit ${maxSkew / 60_000} min)`,
        );
      }
      return response;
    },
  };
  const client = clockProbe;

  const stats = (name: string): RecordStats => {
    records[name] ??= { records: 0, problems: emptyProblems() };
    return records[name];
  };
  const strict = (name: string, spec: RecordSpec, value: unknown) => {
    const entry = stats(name);
    entry.records += 1;
    for (const problem of checkRecord(spec, value)) {
      const path = problem.path.replace(/\[\d+\]/g, '[]');
      entry.problems[problem.kind][path] = (entry.problems[problem.kind][path] ?? 0) + 1;
    }
  };

  try {
    // Each project's region (IAM), once.
    const homes = new Map<string, string | undefined>();
    for (const target of targets) {
      for (const projectId of target.projects) {
        if (!homes.has(projectId)) {
          const region = await attempt(`iam project ${projectId}`, () =>
            projectRegion(client, projectId, target.regions[0] as string, deps.signal),
          );
          homes.set(projectId, region);
        }
        const home = homes.get(projectId);
        if (home === undefined) continue;
        const ok = target.regions.includes(home);
        add(
          'region',
          ok,
          `${target.name} ${projectId}`,
          ok
            ? `in ${home}`
            : `belongs to ${home}, but the target names ${target.regions.join(', ')}: it would not be listed`,
        );
      }
    }
    // Every list call of every (service, project in its region), strictly checked.
    const listed = new Set<string>();
    for (const target of targets) {
      for (const projectId of target.projects) {
        const region = homes.get(projectId);
        if (region === undefined || !target.regions.includes(region)) continue;
        const key = `${target.service}/${region}/${projectId}`;
        if (listed.has(key)) continue;
        listed.add(key);
        recorder?.project(projectId, region);
        const ok = await listService(target.service, { region, projectId });
        if (ok) add('permission', true, key, 'every list call answered');
      }
    }
  } catch (error) {
    if (!(error instanceof StopDoctor)) throw error;
  }

  async function listService(
    service: BackupService,
    where: { region: string; projectId: string },
  ): Promise<boolean> {
    const key = `${service}/${where.region}/${where.projectId}`;
    if (service === 'cbr') {
      const vaults = await attempt(`${key} ListVaults`, async () => {
        const out: cbr.CbrVault[] = [];
        for await (const vault of cbr.listVaults(client, where, deps.signal)) {
          strict('cbr vault', CBR_VAULT, vault);
          out.push(vault);
        }
        return out;
      });
      if (vaults === undefined) return false;
      for (const vault of vaults) recorder?.cbrVault(where.projectId, vault);
      return (
        (await attempt(`${key} ListBackups`, async () => {
          for await (const record of cbr.listBackupRecords(client, where, deps.signal)) {
            strict('cbr backup', CBR_BACKUP, record);
            recorder?.cbr(where.projectId, record);
          }
          return true;
        })) === true
      );
    }
    if (service === 'dds') {
      const tags = new Map<string, { key: string; value: string }[]>();
      return (
        (await attempt(`${key} ListBackups`, async () => {
          for await (const record of dds.listBackupRecords(client, where, deps.signal)) {
            strict('dds backup', DDS_BACKUP, record);
            if (!tags.has(record.instance_id)) {
              const found = await attempt(`${key} ListInstanceTags ${record.instance_id}`, () =>
                dds.instanceTags(client, where, record.instance_id, deps.signal),
              );
              tags.set(
                record.instance_id,
                (found ?? []).map((tag) => {
                  const at = tag.indexOf('=');
                  return at < 0
                    ? { key: tag, value: '' }
                    : { key: tag.slice(0, at), value: tag.slice(at + 1) };
                }),
              );
            }
            recorder?.dds(where.projectId, record, tags.get(record.instance_id) ?? []);
          }
          return true;
        })) === true
      );
    }
    return (
      (await attempt(`${key} ListCheckpointItems`, async () => {
        for await (const item of csbs.listBackupRecords(client, where, deps.signal)) {
          strict('csbs item', CSBS_ITEM, item);
          recorder?.csbs(where.projectId, item);
        }
        return true;
      })) === true
    );
  }

  const ok = stopped === undefined && findings.every((finding) => finding.ok);
  return {
    ok,
    ...(stopped === undefined ? {} : { stopped }),
    findings,
    records,
    ...(recorder ? { fleet: recorder.fleet } : {}),
  };
}

/** The report as text: failures first, then the record counts with what did not fit the models. */
export function renderDoctor(result: DoctorResult): string {
  const lines: string[] = [];
  const failed = result.findings.filter((finding) => !finding.ok);
  lines.push(
    result.ok ? 'doctor: a sweep of this policy would work.' : `doctor: ${failed.length} problem(s):`,
  );
  for (const finding of failed) lines.push(`  FAIL ${finding.check} ${finding.subject}: ${finding.detail}`);
  for (const finding of result.findings.filter((f) => f.ok))
    lines.push(`  ok   ${finding.check} ${finding.subject}: ${finding.detail}`);
  for (const [name, stats] of Object.entries(result.records)) {
    lines.push(`  records ${name}: ${stats.records}`);
    for (const [kind, paths] of Object.entries(stats.problems)) {
      for (const [path, count] of Object.entries(paths)) lines.push(`    ${kind} ${path}: ${count}`);
    }
  }
  if (result.stopped) lines.push(`stopped: ${result.stopped}`);
  return `${lines.join('\n')}\n`;
}
