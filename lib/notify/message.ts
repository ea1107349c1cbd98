/**
 * The message a person gets about a sweep's outcome (lib/approval/decision.ts `SweepOutcomeNotice`): one
 * subject line and a plain-text body, the same whether it goes to SNS (e-mail subscribers) or is printed by
 * the CLI. Kinds:
 *
 * - awaiting approval: the plan to approve (sweep id, plan hash, deletions, expiry), why each target waits
 *   (the history breaker's numbers among them), and exactly how to approve: the HTTP route and the CLI;
 * - failed: failed and skipped counts with their codes, targets whose listing failed, refused targets;
 * - completed: the totals.
 *
 * Built from the report only (never from configuration), and every text is passed through `redact`: known
 * secret values given by the caller and anything that looks like an Authorization header, a token header or a
 * SigV4/SDK-HMAC signature are replaced. Upstream error messages are not copied, only their codes.
 */
import type { SweepOutcomeNotice } from '../approval/decision.ts';
import { formatCodes, formatSize } from '../cli/output.ts';
import { REDACTED } from '../logger.ts';
import type { SweepReport } from '../sweep/report.ts';

/**
 * SNS `Subject`: "UTF-8 text with no line breaks or control characters, and less than 100 characters long"
 * (the Publish API's constraint); we send printable ASCII only, since e-mail subjects show it everywhere.
 */
export const SUBJECT_LIMIT = 99;
/** SNS `Message`: at most 256 KB of UTF-8 (262,144 bytes); a longer body is cut with a note. */
export const MESSAGE_LIMIT_BYTES = 262_144;
const CUT_NOTE = '\n... (cut at the SNS message limit; the full report is in the ledger: GET /sweeps/{id})\n';

export interface SweepMessage {
  readonly subject: string;
  readonly text: string;
}

export interface MessageContext {
  /** The policy file the CLI approval needs (`--policy FILE`); omitted from the CLI line when unknown. */
  readonly policyFile?: string | undefined;
  /** Secret values that must never appear (AK/SK, tokens, passwords); each is replaced by `[REDACTED]`. */
  readonly secrets?: readonly string[] | undefined;
}

/** Header-shaped secrets and signatures, whatever their value. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\b(authorization|x-auth-token|x-security-token|x-amz-security-token)\s*[:=]\s*[^\s,;]+(\s+[^\s,;]+)*/gi,
  /\b(signature|credential|access|access_?key(?:_?id)?|secret_?(?:access_?)?key|password|security_?token)\s*=\s*[^\s,;&]+/gi,
];

/** Replaces every given secret value and header-shaped secret in `text`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  for (const pattern of SECRET_PATTERNS)
    out = out.replace(pattern, (_match, name: string) => `${name}=${REDACTED}`);
  return out;
}

function subjectLine(text: string): string {
  // SNS subjects allow printable ASCII only.
  const ascii = text.replace(/[^\x20-\x7e]/g, '-').replace(/\s+/g, ' ');
  return ascii.length <= SUBJECT_LIMIT ? ascii : `${ascii.slice(0, SUBJECT_LIMIT - 3)}...`;
}

function totalsLine(report: SweepReport): string {
  const t = report.totals;
  return `listed ${t.listed}, kept ${t.kept}, planned ${t.planned}, deleted ${t.deleted}, already gone ${t.already_gone}, failed ${t.failed}, skipped ${t.skipped}, reclaimed ${formatSize(t.bytes_reclaimed)}`;
}

function header(report: SweepReport): string[] {
  return [
    `Sweep ${report.sweep_id}: ${report.status} (${report.mode}, ${report.started_at} to ${report.finished_at})`,
    `Totals: ${totalsLine(report)}`,
  ];
}

function awaitingLines(report: SweepReport, context: MessageContext): string[] {
  const approval = report.approval;
  if (approval?.status !== 'awaiting') return [];
  const lines = [
    '',
    `Awaiting approval: ${approval.items} planned deletions of ${approval.targets.length} target(s); nothing of them was deleted.`,
    `  plan: ${approval.sweep_id}`,
    `  plan hash: ${approval.plan_hash}`,
    `  expires: ${approval.expires_at} (an approval after that is refused; plan again)`,
    ...approval.targets.map((need) => `  ${need.target}: ${need.code}: ${need.reason}`),
    '',
    'To approve exactly this plan (it runs once, intersected with a fresh plan made then):',
    `  HTTP (SigV4, execute-api:Invoke): POST /sweeps/${approval.sweep_id}/approve with {"plan_hash": "${approval.plan_hash}"}`,
    `  CLI (local ledger): npm run sweep -- --sweep ${approval.sweep_id} --approve ${approval.plan_hash} --policy ${context.policyFile ?? 'POLICY_FILE'}`,
  ];
  return lines;
}

function failureLines(report: SweepReport): string[] {
  const lines: string[] = [];
  const t = report.totals;
  if (t.failed > 0) lines.push(`Failed deletions: ${t.failed} (${formatCodes(t.failure_codes)})`);
  if (t.skipped > 0) lines.push(`Skipped deletions: ${t.skipped} (${formatCodes(t.skip_codes)})`);
  for (const target of report.targets) {
    if (target.failure !== undefined) {
      lines.push(
        `  ${target.name}: ${target.failure.stage} ${target.failure.code}, ${target.failure.listings.length} listing(s) failed; nothing of it was deleted`,
      );
    } else if (target.failed > 0 || target.skipped > 0) {
      lines.push(
        `  ${target.name}: failed ${target.failed} (${formatCodes(target.failure_codes)}), skipped ${target.skipped} (${formatCodes(target.skip_codes)})`,
      );
    }
  }
  for (const refusal of report.refused ?? []) {
    lines.push(
      `  ${refusal.target}: refused by max_delete_share ${refusal.max_delete_share} (it would delete ${refusal.planned} of ${refusal.candidates}, ${Math.round(refusal.delete_share * 1000) / 10}%); nothing was deleted`,
    );
  }
  return lines.length === 0 ? [] : ['', ...lines];
}

/** `, 1 target failed` when targets failed as a whole (their listing), else nothing. */
function failedTargets(report: SweepReport): string {
  const count = report.targets.filter((target) => target.failure !== undefined).length;
  return count === 0 ? '' : `, ${count} target${count === 1 ? '' : 's'} failed`;
}

function subjectOf(notice: SweepOutcomeNotice): string {
  const { report } = notice;
  const stage = report.sweep_id;
  switch (notice.kind) {
    case 'awaiting_approval': {
      const approval = report.approval?.status === 'awaiting' ? report.approval : undefined;
      const breaker = approval?.targets.filter((need) => need.code === 'HISTORY_BREAKER') ?? [];
      const what =
        breaker.length > 0
          ? `history breaker held ${breaker.map((need) => need.target).join(', ')}`
          : `${approval?.items ?? 0} deletions await approval`;
      return `hwc-retention: ${what} (${stage})`;
    }
    case 'failed':
      return report.status === 'refused'
        ? `hwc-retention: sweep refused by the circuit breaker (${stage})`
        : `hwc-retention: sweep with failures: ${report.totals.failed} failed, ${report.totals.skipped} skipped${failedTargets(report)} (${stage})`;
    case 'completed':
      return `hwc-retention: sweep completed, ${report.totals.deleted} deleted (${stage})`;
  }
}

/** The subject and body for a notice; see the module comment. */
export function sweepOutcomeMessage(notice: SweepOutcomeNotice, context: MessageContext = {}): SweepMessage {
  const { report } = notice;
  const lines = [...header(report), ...awaitingLines(report, context), ...failureLines(report)];
  const secrets = context.secrets ?? [];
  return {
    subject: subjectLine(redact(subjectOf(notice), secrets)),
    text: withinLimit(`${redact(lines.join('\n'), secrets)}\n`),
  };
}

/** The text, cut on a line boundary so that it and the note fit MESSAGE_LIMIT_BYTES. */
function withinLimit(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MESSAGE_LIMIT_BYTES) return text;
  const budget = MESSAGE_LIMIT_BYTES - Buffer.byteLength(CUT_NOTE, 'utf8');
  let cut = Buffer.from(text, 'utf8').subarray(0, budget).toString('utf8');
  // A multi-byte character split at the budget decodes as U+FFFD: drop the partial last line instead.
  cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')));
  return `${cut}${CUT_NOTE}`;
}
