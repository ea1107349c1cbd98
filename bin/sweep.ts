/**
 * `npm run sweep -- --plan PLAN.json --approve HASH` applies a saved plan (`npm run plan -- --save`) once its
 * hash is approved; `npm run sweep -- --policy FILE [--dry-run]` runs a sweep of a policy (a dry run stores a
 * plan with its hash; a policy with `approval.required` stores the plan awaiting approval and sends nothing);
 * `npm run sweep -- --sweep ID --approve HASH --policy FILE` approves a plan stored in the local ledger.
 *
 * An approved plan runs intersected with a fresh plan made now (lib/approval/approve.ts): an approved backup
 * the fresh plan keeps, or that is gone, is skipped with its reason; nothing outside the approved plan is
 * sent. A wrong hash, a changed policy, a plan approved before or older than `approval.expires_after` exits 1
 * with nothing sent. The sweep runs inline in this process with the local ledger (LEDGER_DIR), against the
 * embedded simulator by default (the demo fleet, or `--fixture`), or the real cloud with `--cloud`. Against
 * the simulator it checks the simulator's own request log: no DELETE outside the approved (or planned) set.
 */
import { userInfo } from 'node:os';
import { approveSweep } from '../lib/approval/approve.ts';
import { ApprovalError } from '../lib/approval/errors.ts';
import { readPlanFile } from '../lib/approval/plan-file.ts';
import { PlanHashSchema } from '../lib/approval/schema.ts';
import { defineCommand, type OptionValues } from '../lib/cli/args.ts';
import { cloudClient } from '../lib/cli/cloud.ts';
import { CheckFailedError, UsageError } from '../lib/cli/exit.ts';
import { readInputFile } from '../lib/cli/files.ts';
import { loadFleetFixture } from '../lib/cli/fixture.ts';
import { createOutput, formatCodes, type Output, renderColumns } from '../lib/cli/output.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { config } from '../lib/config.ts';
import { closeHuaweiPools } from '../lib/huawei/client.ts';
import { openLocalLedger } from '../lib/ledger/local.ts';
import type { CallerIdentity, PlannedItem } from '../lib/ledger/schema.ts';
import { notifyContextFrom, sweepNotifier } from '../lib/notify/index.ts';
import { loadPolicy, type Policy } from '../lib/retention/policy.ts';
import type { HuaweiRequester } from '../lib/services/index.ts';
import type { Simulator } from '../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';
import type { SweepReport } from '../lib/sweep/report.ts';
import { SweepIdSchema } from '../lib/sweep/request.ts';
import { runSweep, type SweepDeps } from '../lib/sweep/sweep.ts';
import { MemorySweepLock } from '../lib/sweep/sweep-lock.ts';

const sweepCommand = defineCommand({
  name: 'sweep',
  summary:
    'Runs a retention sweep inline with the local ledger, or applies exactly an approved plan (intersected with a fresh one).',
  synopsis:
    '--plan PLAN.json --approve HASH | --policy FILE [--dry-run] | --sweep ID --approve HASH --policy FILE  [--json] [--cloud | --fixture FILE]',
  options: {
    plan: { type: 'string', value: 'PLAN.json', description: 'a plan saved by npm run plan -- --save' },
    approve: {
      type: 'string',
      value: 'HASH',
      description: 'the plan_hash you reviewed: only a plan with exactly this hash runs',
    },
    policy: {
      type: 'string',
      value: 'FILE',
      description:
        'the retention policy (YAML or JSON); alone, a real sweep that deletes what it plans (unless the policy requires approval); with --sweep, the policy the plan was made with',
    },
    'dry-run': {
      type: 'boolean',
      description: 'with --policy: plan and store the plan with its hash, delete nothing',
    },
    sweep: {
      type: 'string',
      value: 'ID',
      description: 'approve a plan stored in the local ledger (a dry run, or a sweep awaiting approval)',
    },
    json: { type: 'boolean', description: 'print one JSON document on stdout (the text goes to stderr)' },
    cloud: {
      type: 'boolean',
      description: 'the real cloud (credentials and endpoints from the environment, see .env.example)',
    },
    simulator: { type: 'boolean', description: 'the embedded simulator (the default)' },
    fixture: {
      type: 'string',
      value: 'FILE',
      description: 'load the embedded simulator from a fleet fixture (doctor --record writes one)',
    },
  },
  notes: [
    'exit codes: 0 the sweep completed, or its plan is stored (dry run, awaiting approval); 1 a deletion failed or was skipped by upstream, the approval was refused (wrong hash, changed policy, expired, approved before, no such --sweep id in the local ledger), or the simulator saw a DELETE outside the plan; 2 invalid arguments, plan file, policy or configuration',
    'with --json: stdout is one JSON document, {report, simulator} or, when the command fails after reading its options, {error: {code, message}} (and simulator when one ran); a wrong option prints nothing on stdout',
    'environment: LEDGER_DIR (the local ledger, default .hwc-retention/ledger under the current directory); with --cloud the Huawei settings of .env.example',
    'examples:\n  npm run plan -- --policy policies/demo.yaml --save plan.json\n  npm run sweep -- --plan plan.json --approve sha256:…   (the plan_hash that plan --save printed)\n  npm run sweep -- --policy policies/demo.yaml --dry-run\n  npm run sweep -- --sweep sweep-… --approve sha256:… --policy policies/demo.yaml',
  ],
});

type Mode =
  | { readonly kind: 'plan'; readonly file: string; readonly hash: string }
  | { readonly kind: 'policy'; readonly file: string; readonly dryRun: boolean }
  | { readonly kind: 'stored'; readonly sweepId: string; readonly hash: string; readonly file: string };

function modeOf(values: {
  plan: string | undefined;
  approve: string | undefined;
  policy: string | undefined;
  sweep: string | undefined;
  'dry-run': boolean;
}): Mode {
  const hash = (() => {
    if (values.approve === undefined) return undefined;
    const parsed = PlanHashSchema.safeParse(values.approve);
    if (!parsed.success)
      throw new UsageError(`--approve ${values.approve}: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  })();
  if (values.plan !== undefined) {
    if (values.policy !== undefined || values.sweep !== undefined)
      throw new UsageError('--plan carries its policy: drop --policy and --sweep');
    if (hash === undefined) throw new UsageError('--plan needs --approve HASH (the plan_hash you reviewed)');
    if (values['dry-run']) throw new UsageError('--dry-run plans; a saved plan is applied: drop --dry-run');
    return { kind: 'plan', file: values.plan, hash };
  }
  if (values.sweep !== undefined) {
    if (!SweepIdSchema.safeParse(values.sweep).success)
      throw new UsageError(`--sweep ${values.sweep}: not a sweep id`);
    if (hash === undefined) throw new UsageError('--sweep needs --approve HASH (the plan_hash you reviewed)');
    if (values.policy === undefined)
      throw new UsageError('--sweep needs --policy FILE (the policy the plan was made with)');
    if (values['dry-run'])
      throw new UsageError('--dry-run plans; --sweep approves a stored plan: drop --dry-run');
    return { kind: 'stored', sweepId: values.sweep, hash, file: values.policy };
  }
  if (values.policy === undefined) throw new UsageError('give --plan FILE --approve HASH, or --policy FILE');
  if (hash !== undefined) throw new UsageError('--approve needs --plan FILE or --sweep ID');
  return { kind: 'policy', file: values.policy, dryRun: values['dry-run'] };
}

/** The CLI user, recorded as the approver (or requester) with the sweep. */
function cliIdentity(): CallerIdentity {
  let name = 'unknown';
  try {
    name = userInfo().username || name;
  } catch {
    // No user entry for this uid (a container): keep `unknown`.
  }
  return { kind: 'cli', principal: `cli:${name}` };
}

/** The ids the simulator's log keys a planned deletion's DELETE by (CSBS: the checkpoint and its items). */
function deleteKeys(items: readonly PlannedItem[]): Set<string> {
  const keys = new Set<string>();
  for (const item of items) {
    const target = item.target;
    if (target.kind === 'backup') keys.add(target.backup_id);
    else if (target.kind === 'checkpoint') {
      keys.add(target.checkpoint_id);
      for (const id of target.checkpoint_items ?? []) keys.add(id);
    }
  }
  return keys;
}

interface SimulatorLog {
  /** DELETE requests the simulator received (faults included), per id they named. */
  readonly delete_attempts: Record<string, number>;
  /** Ids that received a DELETE and are not in the allowed set (must be empty). */
  readonly outside_plan: string[];
}

function checkSimulatorLog(sim: Simulator, allowed: readonly PlannedItem[]): SimulatorLog {
  const keys = deleteKeys(allowed);
  const attempts = sim.inspect().deleteAttempts();
  return {
    delete_attempts: Object.fromEntries([...attempts].sort(([a], [b]) => (a < b ? -1 : 1))),
    outside_plan: [...attempts.keys()].filter((id) => !keys.has(id)).sort(),
  };
}

/** How to approve a stored plan: the command line to copy, with this run's policy file and fleet. */
function approveLine(sweepId: string, hash: string, where: Where): string {
  return `  approve: npm run sweep -- --sweep ${sweepId} --approve ${hash} --policy ${where.policyFile}${where.fleet}`;
}

/** The policy file and the fleet flag (`--cloud`, `--fixture FILE` or none) of this run, for the lines to copy. */
interface Where {
  readonly policyFile: string;
  readonly fleet: string;
}

function printReport(out: Output, report: SweepReport, where: Where): void {
  out.say(`Sweep ${report.sweep_id}: ${report.status}${report.dry_run ? ' (dry run: nothing sent)' : ''}`);
  const rows = report.targets.map((target) => [
    target.name,
    String(target.listed),
    String(target.kept),
    String(target.planned),
    String(target.deleted),
    String(target.already_gone),
    String(target.failed),
    String(target.skipped),
    target.approval === undefined
      ? formatCodes(target.failure_codes)
      : `awaiting approval: ${target.approval.code}`,
  ]);
  const header = ['target', 'listed', 'kept', 'planned', 'deleted', 'gone', 'failed', 'skipped', 'note'];
  for (const line of renderColumns(header, rows)) out.say(line);
  const approval = report.approval;
  if (approval?.status === 'approved') {
    out.say(
      `Approved plan ${approval.sweep_id} (${approval.plan_hash}) by ${approval.approved_by.principal}: ${approval.approved} approved, ${approval.executed} still planned and run, ${approval.skipped.length} skipped`,
    );
    for (const skip of approval.skipped)
      out.say(`  skipped ${skip.deletion_id} (${skip.target}): ${skip.code}, ${skip.reason}`);
    if (
      approval.approved > 0 &&
      approval.skipped.every((skip) => skip.code === 'GONE') &&
      approval.executed === 0
    )
      out.say(
        `  none of the ${approval.approved} approved backups is listed any more: was the plan made against another fleet? Apply it with the same --cloud or --fixture as the plan`,
      );
  }
  if (approval?.status === 'awaiting') {
    out.say(
      `${approval.items} deletions await approval in ${approval.sweep_id} until ${approval.expires_at}: plan_hash ${approval.plan_hash}`,
    );
    out.say(approveLine(approval.sweep_id, approval.plan_hash, where));
  } else if (report.dry_run && report.plan_hash !== undefined) {
    out.say(`plan_id ${report.plan_id}, plan_hash ${report.plan_hash}`);
    out.say(approveLine(report.sweep_id, report.plan_hash, where));
  }
}

type SweepValues = OptionValues<typeof sweepCommand.options>;

/**
 * A refused approval is what this command checks, not a crash: exit 1 with its code on stderr. An unknown
 * sweep id also says which ledger was searched (LEDGER_DIR is relative to the current directory).
 */
function refusal(error: unknown): unknown {
  if (!(error instanceof ApprovalError)) return error;
  // PLAN_NOT_FOUND comes from the ledger, so the configuration was read already.
  const where =
    error.code === 'PLAN_NOT_FOUND'
      ? ` in the local ledger ${config().ledger.dir} (LEDGER_DIR); a dry run (--policy FILE --dry-run) stores one there`
      : '';
  return new CheckFailedError(`refused (${error.code}): ${error.message}${where}`, { cause: error });
}

/** `{error: {code, message}}`: what `--json` prints for a failure that printed no document of its own. */
function errorJson(error: unknown): { error: { code: string; message: string } } {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code: typeof code === 'string' ? code : 'FAILED', message } };
}

runCommandAndExit(sweepCommand, async ({ values }) => {
  const text = createOutput(values.json);
  let printed = false;
  const out: Output = {
    ...text,
    result: (value) => {
      printed = true;
      text.result(value);
    },
  };
  try {
    return await sweepMain(values, out);
  } catch (error) {
    if (values.json && !printed) out.result(errorJson(error));
    throw refusal(error);
  }
});

async function sweepMain(values: SweepValues, out: Output): Promise<number> {
  const mode = modeOf(values);
  if (values.cloud && values.simulator) throw new UsageError('choose one of --cloud and --simulator');
  if (values.cloud && values.fixture !== undefined)
    throw new UsageError('--fixture replays a fleet locally: drop --cloud');
  let policy: Policy;
  let approvedItems: readonly PlannedItem[] | undefined;
  let saved: ReturnType<typeof readPlanFile>['plan'] | undefined;
  if (mode.kind === 'plan') {
    const read = readPlanFile(mode.file);
    policy = read.policy;
    saved = read.plan;
    // Approvals expire counted from summary.generated_at; planned_at must say the same time.
    if (saved.planned_at !== saved.summary.generated_at)
      throw new UsageError(
        `--plan ${mode.file}: planned_at ${saved.planned_at} is not summary.generated_at ${saved.summary.generated_at} (edited after it was saved?)`,
      );
    approvedItems = saved.items;
  } else {
    policy = loadPolicy(readInputFile('--policy', mode.file), mode.file);
  }
  const regions = [...new Set(policy.targets.flatMap((target) => target.regions))];
  const cfg = config();
  let sim: Simulator | undefined;
  let client: HuaweiRequester;
  if (values.cloud) client = cloudClient(regions);
  else {
    const fleet = values.fixture === undefined ? undefined : loadFleetFixture(values.fixture);
    sim = await startDemoSimulator(undefined, fleet);
    client = simulatorClient(sim, regions);
    out.progress(
      `Sweeping the embedded simulator (${values.fixture === undefined ? 'the demo fleet' : `fleet ${values.fixture}`}, ${sim.url}); --cloud for the real cloud`,
    );
  }
  const ledger = await openLocalLedger(cfg.ledger.dir);
  try {
    const identity = cliIdentity();
    const deps: SweepDeps = {
      client,
      ledger,
      sweepLock: new MemorySweepLock(),
      // The outcome notice a deployed sweep publishes to SNS, printed (lib/notify).
      notifySweepOutcome: sweepNotifier({ print: (text) => out.say(text), context: notifyContextFrom(cfg) }),
      // The simulator finishes a deletion in milliseconds: poll and back off at its pace (npm run demo's),
      // not the cloud's, so a local walk-through takes seconds.
      ...(sim === undefined
        ? {}
        : {
            tracking: { baseMs: 100, capMs: 400, minDelayMs: 50 },
            retry: { busyDelayMs: 500, baseMs: 50, capMs: 1_000 },
          }),
      onProgress: (progress) => {
        if (progress.type === 'planned')
          out.progress(`planned ${progress.sweepId}${progress.resumed ? ' (resumed)' : ''}`);
      },
    };
    let report: SweepReport;
    try {
      if (mode.kind === 'policy') {
        report = await runSweep(
          { policy, dryRun: mode.dryRun, now: new Date(), requestedBy: identity },
          deps,
        );
      } else {
        let sweepId: string;
        if (mode.kind === 'stored') {
          sweepId = mode.sweepId;
          approvedItems = (await ledger.getSweep(sweepId))?.items;
        } else {
          const plan = saved as NonNullable<typeof saved>;
          // The saved plan becomes a stored plan of the local ledger (once), so its approval is recorded there.
          const put = await ledger.putSweepPlan({
            sweep_id: plan.plan_id,
            dry_run: true,
            requested_by: identity,
            summary: plan.summary,
            items: plan.items,
            plan_id: plan.plan_id,
            plan_hash: plan.plan_hash,
          });
          if (put.sweep.plan_hash !== plan.plan_hash)
            throw new CheckFailedError(`the local ledger holds another plan under ${plan.plan_id}`);
          sweepId = plan.plan_id;
        }
        report = await approveSweep(
          { sweepId, planHash: mode.hash, approvedBy: identity, policy, now: new Date() },
          deps,
        );
      }
    } catch (error) {
      // Refused (wrong hash, expired, approved before) or failed: what the simulator saw still goes out.
      if (values.json && sim !== undefined)
        out.result({ ...errorJson(error), simulator: checkSimulatorLog(sim, approvedItems ?? []) });
      throw error;
    }
    printReport(out, report, {
      policyFile: mode.file,
      fleet: values.cloud ? ' --cloud' : values.fixture === undefined ? '' : ` --fixture ${values.fixture}`,
    });
    let simulator: SimulatorLog | undefined;
    if (sim !== undefined) {
      const allowed = approvedItems ?? (await ledger.getSweep(report.sweep_id))?.items ?? [];
      simulator = checkSimulatorLog(sim, allowed);
      const attempts = Object.values(simulator.delete_attempts);
      const sent = attempts.reduce((sum, n) => sum + n, 0);
      // Per id named: a CSBS deletion names its checkpoint and its items; an injected fault is retried.
      out.say(
        `Simulator log: DELETEs named ${attempts.length} ids (${sent} attempts, CSBS checkpoint items and retries after injected faults included), ${simulator.outside_plan.length} outside the ${approvedItems === undefined ? 'planned' : 'approved'} set`,
      );
    }
    if (values.json)
      out.result({
        report,
        ...(saved === undefined ? {} : { plan_id: saved.plan_id }),
        ...(simulator === undefined ? {} : { simulator }),
      });
    if (simulator !== undefined && simulator.outside_plan.length > 0)
      throw new CheckFailedError(
        `the simulator saw DELETEs outside the plan: ${simulator.outside_plan.join(', ')}`,
      );
    return report.status === 'completed' || report.status === 'awaiting_approval' ? 0 : 1;
  } finally {
    await ledger.close();
    await sim?.close();
    await closeHuaweiPools();
  }
}
